#!/usr/bin/env bash
# Builds the local test image vc/busybox:test (no registry needed): a rootfs holding a static busybox with
# symlinks for its applets (sh, httpd, sleep, ...) and an index page under /www, imported with `docker import`.
# Does nothing when the image already exists; pass --force to rebuild it.
set -euo pipefail
image="${VC_TEST_IMAGE:-vc/busybox:test}"
if [ "${1:-}" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi

busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
  # Only a static busybox works inside an image that has no libc.
  if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then busybox="$candidate"; break; fi
done
[ -n "$busybox" ] || { echo "docker-test-image: no static busybox found; apt-get install busybox-static" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/vc-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,www,tmp,etc,proc,sys,dev,data}
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" > "$rootfs/etc/passwd"
echo "root:x:0:" > "$rootfs/etc/group"
echo "<html><body>hello from busybox httpd</body></html>" > "$rootfs/www/index.html"
tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "docker-test-image: built $image" >&2
