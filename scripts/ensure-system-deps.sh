#!/usr/bin/env bash
# Install the Debian/Ubuntu packages obsapp needs, when they are missing.
# Usage: scripts/ensure-system-deps.sh base|browser|postgres|redis|compose
# Uses apt-get as root, or sudo when it needs no password; otherwise names the packages to install.
set -euo pipefail

want=()
case "${1:-base}" in
  base)
    command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || want+=(ffmpeg)
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || want+=(python3-venv)
    # Title cards are drawn by libass with fontconfig's fonts: Noto Sans (English, Malay) and Noto Sans Tamil
    # from fonts-noto-core, Noto Sans CJK SC (Chinese) from fonts-noto-cjk; fc-list tells which are installed.
    command -v fc-list >/dev/null 2>&1 || want+=(fontconfig)
    [ -f /usr/share/fonts/truetype/noto/NotoSansTamil-Regular.ttf ] || want+=(fonts-noto-core)
    [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || want+=(fonts-noto-cjk)
    # DejaVu Sans: the tests' example of a font without Tamil or Chinese (tests/media/test_card_scripts.py).
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || want+=(fonts-dejavu-core)
    ;;
  browser)
    command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || want+=(chromium)
    fc-list 2>/dev/null | grep -qi dejavu || want+=(fonts-dejavu-core)
    ;;
  postgres)
    # The tests' throwaway PostgreSQL servers (tests/servers/postgres.py): initdb, postgres, pg_ctl, pg_isready
    # from /usr/lib/postgresql/<major>/bin. The package also creates the unprivileged `postgres` account the
    # server runs as when the tests run as root. Debian's service is not needed (and not started here).
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && id -u postgres >/dev/null 2>&1 || want+=(postgresql)
    command -v runuser >/dev/null 2>&1 || want+=(util-linux)
    ;;
  redis)
    # the tests' throwaway Redis (tests/servers/redis.py); obsapp itself only talks to OBSAPP_REDIS_URL
    command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
    ;;
  compose)
    # tests/test_compose.py checks docker-compose.yml with `docker-compose config` (no Docker daemon needed)
    command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
    ;;
  *) echo "usage: $0 base|browser|postgres|redis|compose" >&2; exit 2 ;;
esac

[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "obsapp needs these system packages: ${want[*]}" >&2
  echo "Install them with:  sudo apt-get install ${want[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${want[@]}" >/dev/null
