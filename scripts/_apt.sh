# Sourced by scripts/test: apt-get that waits for the package manager's lock instead of failing
# when another install (unattended-upgrades, a colleague's apt-get, another test run) holds it.
#
# apt and dpkg hold their locks with fcntl(2), which flock(1) cannot see, so the check asks
# fcntl itself (lockf, non-blocking, released at once). apt-get then runs with
# DPkg::Lock::Timeout as well, for an install that takes the lock between the check and the
# start. Settings (for tests): APT_LOCK_FILES, APT_LOCK_WAIT_SECONDS, APT_LOCK_POLL_SECONDS.

APT_LOCK_FILES=${APT_LOCK_FILES:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}
APT_LOCK_WAIT_SECONDS=${APT_LOCK_WAIT_SECONDS:-900}
APT_LOCK_POLL_SECONDS=${APT_LOCK_POLL_SECONDS:-3}

# Exit 0 when another process holds one of the locks; 1 when all are free (or absent, or not
# ours to open: only root installs).
apt_lock_held() {
  # shellcheck disable=SC2086 # the list is split on purpose
  python3 - $APT_LOCK_FILES <<'PY'
import fcntl, os, sys
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        continue
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit(1)
PY
}

wait_for_apt_lock() {
  local deadline=$((SECONDS + APT_LOCK_WAIT_SECONDS)) said=""
  while apt_lock_held; do
    if [ -z "$said" ]; then
      echo "scripts/test: another install holds the package manager's lock; waiting (up to ${APT_LOCK_WAIT_SECONDS} s)" >&2
      said=1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "scripts/test: the package manager's lock was still held after ${APT_LOCK_WAIT_SECONDS} s" >&2
      return 1
    fi
    sleep "$APT_LOCK_POLL_SECONDS"
  done
  [ -z "$said" ] || echo "scripts/test: the lock is free; going on" >&2
}

apt_get() {
  wait_for_apt_lock && apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_WAIT_SECONDS" "$@"
}
