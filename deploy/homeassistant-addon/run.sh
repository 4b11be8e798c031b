#!/usr/bin/with-contenv bash
# Start ambient inside the Home Assistant add-on container.
#
# 1. `python -m ambient.addon prepare` merges /config/ambient.yaml (the user's) with what the
#    Supervisor provides: HA at http://supervisor/core with SUPERVISOR_TOKEN, the MQTT broker's
#    credentials from GET /services/mqtt. The result is /data/ambient.yaml (+ secrets, 0600).
# 2. `ambient check` validates it; mistakes are printed with file:line and the add-on stops.
# 3. A health endpoint on :8099 answers the Supervisor's watchdog; then ambient runs.
#
# The paths can be overridden (tests run this script outside a container).

set -o errexit -o nounset -o pipefail

OPTIONS="${AMBIENT_ADDON_OPTIONS:-/data/options.json}"
CONFIG_DIR="${AMBIENT_ADDON_CONFIG_DIR:-/config}"
DATA_DIR="${AMBIENT_ADDON_DATA_DIR:-/data}"
PYTHON="${AMBIENT_ADDON_PYTHON:-python3}"
AMBIENT="${AMBIENT_ADDON_AMBIENT:-ambient}"
HEALTH_PORT="${AMBIENT_ADDON_HEALTH_PORT:-8099}"

log() { printf '[ambient add-on] %s\n' "$*"; }

log "preparing the configuration from ${CONFIG_DIR}"
if ! "${PYTHON}" -m ambient.addon prepare \
    --options "${OPTIONS}" --config-dir "${CONFIG_DIR}" --data-dir "${DATA_DIR}" >/dev/null; then
    log "the configuration has errors (above); fix ${CONFIG_DIR} and restart the add-on"
    exit 1
fi

CONFIG="${DATA_DIR}/ambient.yaml"
# check reads the generated file; `relocate` says each mistake at the line of the user's file.
if ! "${AMBIENT}" check --config "${CONFIG}" 2>&1 | "${PYTHON}" -m ambient.addon relocate \
    --options "${OPTIONS}" --config-dir "${CONFIG_DIR}" --config "${CONFIG}"; then
    log "the configuration has errors (above); fix ${CONFIG_DIR} and restart the add-on"
    exit 1
fi

if [[ "${AMBIENT_ADDON_CHECK_ONLY:-0}" == 1 ]]; then
    log "configuration is valid (check only)"
    exit 0
fi

# The health check asks the socket beside the config's store (the user may move the store).
"${PYTHON}" -m ambient.addon health --config "${CONFIG}" --port "${HEALTH_PORT}" &

log "starting ambient"
exec "${AMBIENT}" run --config "${CONFIG}"
