#!/usr/bin/env bash
# Install ambient as a hardened systemd service on Raspberry Pi OS / Debian.
#
#   sudo deploy/install.sh              install or upgrade (idempotent)
#   sudo deploy/install.sh --uninstall  remove the program and service; keep config and state
#   sudo deploy/install.sh --purge      remove everything, config, state and the user included
#
# Layout: venv /opt/ambient, config /etc/ambient (secrets.yaml and store.key mode 0600), state
# /var/lib/ambient (mode 0700), unit /etc/systemd/system/ambient.service, user `ambient`
# (groups ambient, bluetooth), and /usr/local/bin/ambient for `ambient status`. An upgrade
# copies the store first, into /var/backups/ambient/<time> (mode 0700; the last 3 are kept).
#
# Environment (for packagers and tests; the defaults are the real system):
#   AMBIENT_ROOT        prefix for every path below (a throwaway root in tests)
#   AMBIENT_PREFIX      venv                          (/opt/ambient)
#   AMBIENT_CONFIG_DIR  configuration                 (/etc/ambient)
#   AMBIENT_STATE_DIR   state                         (/var/lib/ambient)
#   AMBIENT_UNIT_DIR    systemd units                 (/etc/systemd/system)
#   AMBIENT_BIN_DIR     command link                  (/usr/local/bin)
#   AMBIENT_COPIES_DIR  copies of the store taken by upgrades (/var/backups/ambient)
#   AMBIENT_PYTHON      interpreter for the venv      (python3)
#   AMBIENT_SOURCE      what pip installs             (this checkout, else `ambient` from PyPI)
#   AMBIENT_PIP_ARGS    extra pip arguments           (e.g. --no-index --find-links wheels/)
#   AMBIENT_SKIP_PIP=1  create the venv but install nothing into it
#   AMBIENT_SKIP_STORE_COPY=1  an upgrade takes no copy of the store
#   AMBIENT_NO_SYSTEM=1 touch no users, owners, packages or systemd: print those steps instead
#   AMBIENT_SERVICE_STATE  with AMBIENT_NO_SYSTEM=1, the service's state (active)
#   AMBIENT_TEST_HOLD_COPY  a fifo: the copy step waits until it is written (tests interrupt it)

set -o errexit -o nounset -o pipefail
# Whatever the caller's umask (a root shell's 0000): the program in /opt/ambient runs as root at
# `sudo ambient` and as the daemon, so nobody else may write it. Private files set their own mode.
umask 0022

readonly SERVICE=ambient
readonly USER_NAME=ambient
readonly ROOT="${AMBIENT_ROOT:-}"
readonly PREFIX="${AMBIENT_PREFIX:-/opt/ambient}"
readonly CONFIG_DIR="${AMBIENT_CONFIG_DIR:-/etc/ambient}"
readonly STATE_DIR="${AMBIENT_STATE_DIR:-/var/lib/ambient}"
readonly UNIT_DIR="${AMBIENT_UNIT_DIR:-/etc/systemd/system}"
readonly BIN_DIR="${AMBIENT_BIN_DIR:-/usr/local/bin}"
readonly COPIES_DIR="${AMBIENT_COPIES_DIR:-/var/backups/ambient}"
# An upgrade's copies of the store kept (the oldest beyond are removed).
readonly KEEP_COPIES=3
readonly PYTHON="${AMBIENT_PYTHON:-python3}"
readonly NO_SYSTEM="${AMBIENT_NO_SYSTEM:-0}"
readonly SKIP_PIP="${AMBIENT_SKIP_PIP:-0}"

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The one example config of the project (also what `ambient check` is tested on).
EXAMPLE_CONFIG="${DEPLOY_DIR}/../config/ambient.example.yaml"
readonly DEPLOY_DIR
readonly CHECKOUT="${DEPLOY_DIR%/deploy}"
# The service's state, as read_service_state last read it.
SERVICE_STATE=""
# Set by restart_service when it started a running ambient again on the new version.
RESTARTED=0
# Set by restart_service when it stops ambient, for `interrupted` to start it again.
STOPPED=0
# The copy of the store being made, for `interrupted` to remove.
PARTIAL_COPY=""

say() { printf 'ambient-install: %s\n' "$*"; }
die() { printf 'ambient-install: error: %s\n' "$*" >&2; exit 1; }

# Steps that change the machine outside the install paths: run, or only print in test mode.
system() {
    if [[ "${NO_SYSTEM}" == 1 ]]; then
        say "skip: $*"
    else
        "$@"
    fi
}

usage() {
    # The header, up to the Environment paragraph (that one is for packagers and tests).
    sed -n '2,/^# Environment/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

check_python() {
    command -v "${PYTHON}" >/dev/null || die "${PYTHON} not found; install python3 (3.11 or newer)"
    "${PYTHON}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "ambient needs Python 3.11 or newer; ${PYTHON} is $("${PYTHON}" -V 2>&1)"
    if ! "${PYTHON}" -c 'import ensurepip, venv' 2>/dev/null; then
        [[ "${NO_SYSTEM}" == 1 ]] && die "${PYTHON} has no venv module"
        say "installing python3-venv"
        apt-get install -y --no-install-recommends python3-venv
    fi
}

create_user() {
    if [[ "${NO_SYSTEM}" != 1 ]] && ! getent group bluetooth >/dev/null; then
        system groupadd --system bluetooth
    fi
    if [[ "${NO_SYSTEM}" != 1 ]] && getent passwd "${USER_NAME}" >/dev/null; then
        system usermod --append --groups bluetooth "${USER_NAME}"
    else
        system useradd --system --user-group --groups bluetooth --no-create-home \
            --home-dir "${STATE_DIR}" --shell /usr/sbin/nologin \
            --comment "ambient stress-aware home" "${USER_NAME}"
    fi
}

install_venv() {
    local venv="${ROOT}${PREFIX}" wanted made=""
    # A venv holds its packages under lib/pythonX.Y: after a Debian release upgrade its
    # bin/python is the new Python, which finds neither ambient nor pip there. Make it again.
    wanted="$("${PYTHON}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [[ -f "${venv}/pyvenv.cfg" ]]; then
        made="$(sed -n 's/^version *= *\([0-9]*\.[0-9]*\).*/\1/p' "${venv}/pyvenv.cfg")"
    fi
    if [[ ! -x "${venv}/bin/python" ]]; then
        say "creating the virtual environment in ${venv}"
        "${PYTHON}" -m venv "${venv}"
    elif [[ -n "${made}" && "${made}" != "${wanted}" ]]; then
        say "the virtual environment in ${venv} is Python ${made}'s; making it again for ${wanted}"
        "${PYTHON}" -m venv --clear "${venv}"
    fi
    if [[ "${SKIP_PIP}" == 1 ]]; then
        say "skip: pip install (AMBIENT_SKIP_PIP=1)"
        return
    fi
    local source="${AMBIENT_SOURCE:-}" shown=""
    if [[ -z "${source}" && -f "${CHECKOUT}/pyproject.toml" ]]; then
        BUILD_COPY="$(mktemp -d)"
        trap 'rm -rf "${BUILD_COPY}"' EXIT
        copy_checkout "${BUILD_COPY}"
        source="${BUILD_COPY}"
        shown="${CHECKOUT}"
    fi
    source="${source:-ambient}"
    say "installing ${shown:-${source}} into ${venv}"
    # shellcheck disable=SC2086 # AMBIENT_PIP_ARGS is a list of words on purpose
    "${venv}/bin/pip" install --quiet --disable-pip-version-check --upgrade \
        ${AMBIENT_PIP_ARGS:-} "${source}"
}

# pip builds a folder in place, and setuptools reuses its build/: a module removed upstream
# stayed in the upgrade, and root-owned build/ and *.egg-info were left in the user's checkout.
# pip gets a copy without them (nor .git, .venv and the other dot folders), removed at exit.
copy_checkout() {
    tar -C "${CHECKOUT}" --exclude='./.*' --exclude=./build --exclude=./dist \
        --exclude='*.egg-info' -cf - . | tar -C "$1" -xf -
}

install_config() {
    local dir="${ROOT}${CONFIG_DIR}"
    install -d -m 0750 "${dir}"
    # The examples are always refreshed; the user's files are never overwritten.
    install -m 0644 "${EXAMPLE_CONFIG}" "${dir}/ambient.example.yaml"
    if [[ ! -e "${dir}/ambient.yaml" ]]; then
        say "writing ${dir}/ambient.yaml from the example: edit it, then \`ambient check\`"
        install -m 0640 "${EXAMPLE_CONFIG}" "${dir}/ambient.yaml"
    fi
    if [[ ! -e "${dir}/secrets.yaml" ]]; then
        install -m 0600 "${DEPLOY_DIR}/config/secrets.example.yaml" "${dir}/secrets.yaml"
    fi
    chmod 0600 "${dir}/secrets.yaml"
    # The store's encryption key: root's alone. systemd hands it to the service
    # (LoadCredential= in the unit); the ambient user never reads the file itself.
    if [[ ! -e "${dir}/store.key" ]]; then
        say "generating the store's encryption key ${dir}/store.key"
        (umask 077 && "${PYTHON}" -c 'import secrets; print(secrets.token_hex(32))' \
            >"${dir}/store.key")
    fi
    chmod 0600 "${dir}/store.key"
    system chown root:"${USER_NAME}" "${dir}" "${dir}/ambient.yaml" "${dir}/ambient.example.yaml"
    system chown "${USER_NAME}:${USER_NAME}" "${dir}/secrets.yaml"
}

install_state() {
    install -d -m 0700 "${ROOT}${STATE_DIR}"
    # All of it is the service's: a store (or its -wal, the recordings) that a daemon or command
    # run with sudo made root's stops the service at its check; running this again mends it.
    system chown -R "${USER_NAME}:${USER_NAME}" "${ROOT}${STATE_DIR}"
}

install_unit() {
    local unit="${ROOT}${UNIT_DIR}/${SERVICE}.service"
    install -d -m 0755 "${ROOT}${UNIT_DIR}"
    # The shipped unit names the default paths; rewrite them when installing elsewhere.
    sed -e "s|/opt/ambient/|${PREFIX}/|g" \
        -e "s|/etc/ambient/|${CONFIG_DIR}/|g" \
        -e "s|ReadWritePaths=/var/lib/ambient|ReadWritePaths=${STATE_DIR}|" \
        "${DEPLOY_DIR}/systemd/${SERVICE}.service" >"${unit}.new"
    chmod 0644 "${unit}.new"
    mv -f "${unit}.new" "${unit}"
    install -d -m 0755 "${ROOT}${BIN_DIR}"
    ln -sfn "${PREFIX}/bin/ambient" "${ROOT}${BIN_DIR}/ambient"
    system systemctl daemon-reload
    system systemctl enable "${SERVICE}.service"
}

# The service's state now (`systemctl is-active`), in SERVICE_STATE. Test mode cannot ask
# systemd: the state is AMBIENT_SERVICE_STATE, else taken as active.
read_service_state() {
    if [[ "${NO_SYSTEM}" == 1 ]]; then
        SERVICE_STATE="${AMBIENT_SERVICE_STATE:-active}"
        say "skip: systemctl is-active ${SERVICE}.service (taken as ${SERVICE_STATE})"
    else
        SERVICE_STATE="$(systemctl is-active "${SERVICE}.service" 2>/dev/null)" || true
    fi
}

# Whether the daemon runs now, or is about to: `activating` is also a unit between two tries
# (Restart=on-failure), which systemd would start on its own, unchecked, during the copy.
service_running() {
    case "${SERVICE_STATE}" in
        active | reloading | refreshing | activating) return 0 ;;
        *) return 1 ;;
    esac
}

# An upgrade restarts a running daemon, with a copy of the store taken while it is stopped;
# a first install waits for the config to be edited.
restart_service() {
    local running=0 copied=1
    read_service_state
    # On its way down, the daemon may still be writing its last saves to the store. `systemctl
    # stop` waits for it, bounded by the unit's TimeoutStopSec (then systemd kills it).
    if [[ "${SERVICE_STATE}" == deactivating ]]; then
        say "ambient is stopping: waiting until it has stopped before copying the store"
        system systemctl stop "${SERVICE}.service" \
            || die "ambient did not stop (above), so the store was not copied and ambient not" \
                "upgraded: see sudo systemctl status ${SERVICE}, then run this again"
        read_service_state
    fi
    if service_running; then running=1; fi
    if ((running)); then check_config; fi
    trap 'interrupted INT' INT
    trap 'interrupted HUP' HUP
    trap 'interrupted TERM' TERM
    if ((running)); then
        STOPPED=1
        system systemctl stop "${SERVICE}.service"
    fi
    copy_store || copied=0
    # A copy that failed (a full disk) still starts ambient: the home is not left without it.
    if ((running)); then
        system systemctl start "${SERVICE}.service"
        RESTARTED=1
    fi
    trap - INT HUP TERM
    if ((!copied)); then
        local now="is not running"
        if ((running)); then now="was started without a copy"; fi
        die "could not copy the store to ${COPIES_DIR} (above); ambient ${now}: free space" \
            "there and run this again, or set AMBIENT_SKIP_STORE_COPY=1 to upgrade without a copy"
    fi
}

# Ctrl-C, or an SSH connection that dropped (SIGHUP), between stop and start would leave the
# home without ambient: one the script stopped is started first (the terminal may be gone, so a
# line written could fail), with further signals ignored; a half-made copy is removed (going
# back to it would lose data); then the script says so and ends as the signal's.
interrupted() {
    local signal="$1" now="ambient was not running and is left stopped"
    trap '' INT HUP TERM PIPE
    if ((STOPPED)); then
        now="ambient was stopped for the copy of the store: started it again"
        if ! system systemctl start "${SERVICE}.service"; then
            now="ambient was stopped for the copy of the store and could not be started"
            now+=" (above): sudo systemctl start ${SERVICE}"
        fi
    fi
    if [[ -n "${PARTIAL_COPY}" ]]; then rm -rf "${PARTIAL_COPY}"; fi
    local children
    children="$(jobs -p)"  # (only the tests' hold runs in the background)
    # Out of the job table first: bash would otherwise report the killed job ("line N: PID
    # Killed …") on stderr after the one line below, whenever it happened to reap it first.
    disown -a
    # shellcheck disable=SC2086 # a list of process ids on purpose
    if [[ -n "${children}" ]]; then kill -KILL ${children} 2>/dev/null || true; fi
    printf 'ambient-install: error: interrupted (SIG%s) while %s; %s\n' "${signal}" \
        "${now}" "run deploy/install.sh again to finish the upgrade" >&2 || true
    exit $((128 + $(kill -l "${signal}")))
}

# The new version's `ambient check` of the installed config, before a running ambient is
# restarted onto it: the unit's check before each start would keep a refused one down, and
# the home without ambient. Refused, the old process is left running and the script stops.
# Its modules are loaded, but pip has replaced the files it may still import lazily (a
# reload, a part first used later), so the fix must not wait.
check_config() {
    local ambient="${ROOT}${PREFIX}/bin/ambient" config="${ROOT}${CONFIG_DIR}/ambient.yaml"
    local problems status=0
    if [[ ! -x "${ambient}" ]]; then
        say "skip: ambient check (no ambient in ${PREFIX}: AMBIENT_SKIP_PIP=1)"
        return
    fi
    # From /, as the unit runs it: a relative store.path names the same file.
    problems="$(cd / && "${ambient}" check --config "${config}" 2>&1 >/dev/null)" || status=$?
    if ((status == 0)); then
        say "the new version accepts ${CONFIG_DIR}/ambient.yaml"
        return
    fi
    if [[ -z "${problems}" ]]; then
        problems="$(cd / && "${ambient}" check --config "${config}" 2>/dev/null)" || true
    fi
    printf '%s\n' "${problems}" >&2
    die "the new version does not accept ${CONFIG_DIR}/ambient.yaml (above), so ambient was" \
        "not restarted: it runs the old version, whose files are the new one's now, so do" \
        "not wait; fix the file (sudo ambient check), then run deploy/install.sh again: it" \
        "copies the store and restarts ambient"
}

# A copy of the store (each *.db of the state folder with its -wal and -shm: the last writes
# may still be in the -wal) to go back to. Taken while no ambient runs, so the files are
# consistent as they lie, plain or encrypted alike, without the key or any version's Python.
copy_store() {
    local state="${ROOT}${STATE_DIR}" copies="${ROOT}${COPIES_DIR}" stores=() names=()
    local store file copy stamp
    for store in "${state}"/*.db; do
        if [[ -f "${store}" ]]; then stores+=("${store}"); fi
    done
    ((${#stores[@]})) || return 0
    if [[ "${AMBIENT_SKIP_STORE_COPY:-0}" == 1 ]]; then
        say "no copy of the store taken (AMBIENT_SKIP_STORE_COPY=1)"
        return
    fi
    # Called in a condition, where errexit is off: each step says its own failure.
    install -d -m 0700 "${copies}" || return 1
    stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
    copy="${copies}/${stamp}"
    local n=1
    while [[ -e "${copy}" ]]; do copy="${copies}/${stamp}.$((n++))"; done
    PARTIAL_COPY="${copy}"
    install -d -m 0700 "${copy}" || return 1
    if [[ -n "${AMBIENT_TEST_HOLD_COPY:-}" ]]; then
        say "test: held at the copy step until ${AMBIENT_TEST_HOLD_COPY} is written"
        # In the background, waited for with `wait`, which a trapped signal interrupts at once:
        # a foreground `cat` that the signal reached between fork and exec kept the trap's
        # flag in the child and left bash waiting for it for ever.
        cat "${AMBIENT_TEST_HOLD_COPY}" >/dev/null 2>&1 </dev/null &
        wait "$!"
    fi
    for store in "${stores[@]}"; do
        for file in "${store}" "${store}-wal" "${store}-shm"; do
            [[ -f "${file}" ]] || continue
            install -m 0600 "${file}" "${copy}/" || { rm -rf "${copy}"; return 1; }
            names+=("${file##*/}")
        done
    done
    PARTIAL_COPY=""
    say "copied the store (${names[*]}) to ${copy}; going back: docs/raspberry-pi.md, Upgrading"
    # The oldest copies beyond the last KEEP_COPIES (the names sort by time; a glob of */
    # would not: "T1200Z.1/" sorts before "T1200Z/").
    local all=("${copies}"/*)
    local extra=$((${#all[@]} - KEEP_COPIES)) old
    # One that cannot be removed does not undo the copy made: it is said, and the upgrade goes on.
    for old in "${all[@]:0:$((extra > 0 ? extra : 0))}"; do
        rm -rf "${old}" || say "could not remove the old copy ${old} (above); the new copy is made"
    done
}

# A Pi has no real-time clock: the unit starts after time-sync.target, which waits for NTP only
# when systemd-time-wait-sync is enabled. That is the owner's choice (offline, it holds every
# unit ordered after the target back until a network answers), so it is said, never done here.
advise_time_sync() {
    local enabled=""
    if [[ "${NO_SYSTEM}" != 1 ]] && command -v systemctl >/dev/null; then
        enabled="$(systemctl is-enabled systemd-time-wait-sync.service 2>/dev/null || true)"
    fi
    [[ "${enabled}" == enabled ]] && return
    say "note: ambient starts after time-sync.target, which does not wait for NTP unless"
    say "  systemd-time-wait-sync is enabled: sudo systemctl enable systemd-time-wait-sync"
    say "  (why, and how to bound its wait without internet: docs/raspberry-pi.md, 'The clock')"
}

do_install() {
    check_python
    create_user
    install_venv
    install_config
    install_state
    install_unit
    restart_service
    if ((RESTARTED)); then
        say "upgraded and restarted ambient: ambient status"
    else
        # With sudo: the config folder, the service and its status socket are not the user's.
        say "installed. Next: edit ${CONFIG_DIR}/ambient.yaml and secrets.yaml,"
        say "  sudo ${PREFIX}/bin/ambient check --config ${CONFIG_DIR}/ambient.yaml"
        say "  sudo systemctl start ${SERVICE} && sudo ambient status"
    fi
    advise_time_sync
}

do_uninstall() {
    local purge="$1"
    local unit="${ROOT}${UNIT_DIR}/${SERVICE}.service"
    # Only a unit that is there: `systemctl disable --now` of a missing one fails ("Unit
    # ambient.service not loaded"), which stopped a second --uninstall, or --purge after
    # --uninstall, before it removed anything.
    if [[ -e "${unit}" ]]; then
        system systemctl disable --now "${SERVICE}.service"
        rm -f "${unit}"
    fi
    # --purge takes the drop-ins too (`systemctl edit ambient`: the user's changes to the unit).
    if [[ "${purge}" == 1 && -d "${unit}.d" ]]; then rm -rf "${unit}.d"; fi
    system systemctl daemon-reload
    if [[ -L "${ROOT}${BIN_DIR}/ambient" ]]; then rm -f "${ROOT}${BIN_DIR}/ambient"; fi
    rm -rf "${ROOT}${PREFIX}"
    if [[ "${purge}" == 1 ]]; then
        rm -rf "${ROOT}${CONFIG_DIR}" "${ROOT}${STATE_DIR}" "${ROOT}${COPIES_DIR}"
        if [[ "${NO_SYSTEM}" == 1 ]] || getent passwd "${USER_NAME}" >/dev/null; then
            system userdel "${USER_NAME}"
        fi
        say "removed ambient, its configuration, its state and its user"
    else
        say "removed ambient; kept ${CONFIG_DIR}, ${STATE_DIR}, the store's copies in"
        say "  ${COPIES_DIR}, the unit's drop-ins and the user ${USER_NAME} (--purge removes them)"
    fi
}

main() {
    local action=install
    while (($#)); do
        case "$1" in
            --uninstall) action=uninstall ;;
            --purge) action=purge ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
    if [[ "${NO_SYSTEM}" != 1 && "${EUID}" -ne 0 ]]; then
        die "run as root (sudo $0)"
    fi
    case "${action}" in
        install) do_install ;;
        uninstall) do_uninstall 0 ;;
        purge) do_uninstall 1 ;;
    esac
}

main "$@"
