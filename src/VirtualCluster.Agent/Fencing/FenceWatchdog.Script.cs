namespace VirtualCluster.Agent.Fencing;

internal sealed partial class FenceWatchdog
{
    /// <summary>Name the watchdog runs under ($0), so an agent can recognise one left by an earlier run.</summary>
    public const string ProcessName = "vcluster-fence-watchdog";

    /// <summary>
    /// The watchdog, a bash script that forks nothing while it waits: time comes from /proc/uptime (CLOCK_BOOTTIME,
    /// in hundredths of a second), input from <c>read -t</c>. Commands on stdin, one per line:
    /// <c>lease DEADLINE PID:STARTTIME ...</c> (kill those processes and all their descendants once /proc/uptime
    /// reaches DEADLINE), <c>clear</c> (guard nothing) and <c>exit</c>. A process is only killed if its start time
    /// still matches, so a reused pid is never hit. When its input ends (the agent died) it keeps enforcing the last
    /// lease, then exits. A read that times out part-way through a line (the script was not scheduled for longer
    /// than its 100 ms poll) keeps the part, so a command is never lost or cut in two.
    /// </summary>
    internal const string Script = """
        deadline=0; targets=(); eof=0; now=0; buf=""
        now_cs() { local up; read -r up _ < /proc/uptime; up=${up/./}; now=$((10#$up)); }
        tree() {
          local root=$1 f line rest p pp x c; local -A kids=(); local -a fields queue
          for f in /proc/[0-9]*/stat; do
            read -r line < "$f" 2>/dev/null || continue
            p=${f#/proc/}; p=${p%/stat}; rest=${line##*) }; fields=($rest); pp=${fields[1]}
            kids[$pp]+=" $p"
          done
          queue=("$root"); found=()
          while ((${#queue[@]})); do
            x=${queue[0]}; queue=("${queue[@]:1}"); found+=("$x")
            for c in ${kids[$x]}; do queue+=("$c"); done
          done
        }
        fence() {
          local pid=${1%%:*} start=${1##*:} line rest; local -a fields
          read -r line < "/proc/$pid/stat" 2>/dev/null || return 0
          rest=${line##*) }; fields=($rest)
          [[ ${fields[19]} == "$start" ]] || return 0
          tree "$pid"; kill -STOP "${found[@]}" 2>/dev/null
          tree "$pid"; kill -KILL "${found[@]}" 2>/dev/null
          echo "fenced $pid and ${#found[@]} process(es) of its tree: the lease ran out"
        }
        while :; do
          if ((eof)); then
            sleep 0.1
          elif IFS= read -r -t 0.1 line; then
            line=$buf$line; buf=""
            set -f; set -- $line; set +f
            case $1 in
              lease) deadline=$2; shift 2; targets=("$@") ;;
              clear) targets=() ;;
              exit) exit 0 ;;
            esac
          elif (($? > 128)); then
            # Timed out, possibly in the middle of a line (the watchdog was not scheduled in time): keep the part.
            buf=$buf$line
          else
            eof=1
          fi
          if ((${#targets[@]})); then
            now_cs
            if ((now >= deadline)); then
              for t in "${targets[@]}"; do fence "$t"; done
              targets=()
            fi
          elif ((eof)); then
            exit 0
          fi
        done
        """;
}
