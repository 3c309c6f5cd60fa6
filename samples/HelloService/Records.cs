using System.Globalization;
using System.Text;

/// <summary>
/// A stateful mode for replication tests (env APPEND_RECORDS_TO=file, relative to the volume in VC_VOLUME_DATA):
/// appends numbered records, one write and one fsync each, continuing after the last record already in the file.
/// Each record is "record NNNNNNNN check CCCCCCCC\n" with C derived from N, so a torn or damaged record shows.
/// A file that ends in a torn record is refused (exit 3): the replica it came from was not a consistent snapshot.
/// </summary>
internal static class Records
{
    public const int Length = 31;

    public static string Format(long n) => string.Create(CultureInfo.InvariantCulture, $"record {n:D8} check {Check(n):D8}\n");

    public static long Check(long n) => n * 2654435761L % 100_000_000L;

    /// <summary>How many whole, valid records the file starts with, and whether anything else follows them.</summary>
    public static (long Count, bool Clean) Read(string path)
    {
        if (!File.Exists(path)) return (0, true);
        var bytes = File.ReadAllBytes(path);
        long count = 0;
        for (var offset = 0; offset + Length <= bytes.Length; offset += Length)
        {
            if (Encoding.ASCII.GetString(bytes, offset, Length) != Format(count + 1)) return (count, false);
            count++;
        }
        return (count, bytes.Length == count * Length);
    }

    public static async Task AppendForeverAsync(string path, TimeSpan every, CancellationToken ct)
    {
        var (count, clean) = Read(path);
        if (!clean)
        {
            Console.Error.WriteLine($"records: {path} has {count} good record(s), then a torn or damaged one; refusing to append");
            Environment.Exit(3);
        }
        Console.WriteLine($"records: {path} holds {count} record(s); appending from {count + 1}");
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        for (var n = count + 1; !ct.IsCancellationRequested; n++)
        {
            file.Write(Encoding.ASCII.GetBytes(Format(n)));
            file.Flush(flushToDisk: true);
            await Task.Delay(every, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
