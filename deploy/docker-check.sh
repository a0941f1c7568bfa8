#!/usr/bin/env bash
# deploy/docker-check.sh (make docker-check): build deploy/Dockerfile with
# Podman (daemonless; no Docker engine needed), run the image against a
# temporary redis-server on a free loopback port and smoke-test it:
# /healthz, /readyz, the widget (identity, gzip, brotli), the notice page,
# a consent post stored in Redis, non-root user, read-only root file
# system, --help, SIGHUP reload, SIGTERM shutdown (exit 0, "stopped
# cleanly"), image size, build times. Exits non-zero on any failure and
# says what failed. Not part of make test or .ci/run.
#
# Settings (environment):
#   BASES=auto      auto: the published base images if they can be pulled,
#                   else local stand-ins (said loudly); upstream: the
#                   published ones or fail; standin: the stand-ins
#                   (deploy/standin/, built from Debian packages and this
#                   machine's Go toolchain).
#   IMAGE=consentd  tag of the image built
#   NO_CACHE=1      build every layer again (Go modules downloaded again;
#                   the Go build cache mount is kept)
#   REFRESH_STANDINS=1  rebuild the stand-in base images
#   MAX_IMAGE_MB=64 fail when the image is larger
#   STOP_MAX_S=5    fail when SIGTERM takes longer to stop the container
#
# Needs root (rootful Podman); installs podman, runc, redis, curl, brotli
# and (for stand-ins) debootstrap with apt-get when they are missing.
# The checks pass values to small bash -c scripts as "$1"...: single quotes
# are meant there.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

BASES=${BASES:-auto}
IMAGE=${IMAGE:-consentd}
NO_CACHE=${NO_CACHE:-0}
REFRESH_STANDINS=${REFRESH_STANDINS:-0}
MAX_IMAGE_MB=${MAX_IMAGE_MB:-64}
STOP_MAX_S=${STOP_MAX_S:-5}

UPSTREAM_GO_IMAGE=docker.io/library/golang:1.26
UPSTREAM_RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
STANDIN_DEBIAN=localhost/consentd-standin/debian:bookworm
STANDIN_RUNTIME=localhost/consentd-standin/distroless-static:nonroot

log() { printf 'docker-check: %s\n' "$*"; }
die() {
	printf 'docker-check: FAIL: %s\n' "$*" >&2
	exit 1
}

case "$BASES" in auto | upstream | standin) ;; *) die "BASES must be auto, upstream or standin, not '$BASES'" ;; esac
[ "$(id -u)" = 0 ] || die "run as root: the check uses rootful Podman (and apt-get to install it)"

# ---- tools -----------------------------------------------------------------
apt_updated=0
need() { # need COMMAND PACKAGE...
	command -v "$1" >/dev/null 2>&1 && return 0
	log "installing ${*:2}"
	if [ "$apt_updated" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${@:2}" >/dev/null
	command -v "$1" >/dev/null 2>&1 || die "installed ${*:2} but there is still no $1"
}
need podman podman
# runc, not Debian's default crun: crun refuses to start containers on a
# cgroup v1/v2 hybrid host ("cgroups in hybrid mode not supported").
need runc runc
need redis-server redis-server
need redis-cli redis-tools
need curl curl ca-certificates
need brotli brotli
need ss iproute2

secs() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# podman run flags for this kind of host. Without CAP_SYS_RESOURCE (as in
# a container or VM sandbox) the runtime cannot raise rlimits, and
# Podman's defaults (nofile 1048576) are above what the host allows: keep
# the host's own open-file limit, and a process limit well below it.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
RUN_FLAGS=(--runtime runc --network host --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
# Build RUN steps in a chroot: no OCI runtime, no cgroups, the host's network.
BUILD_FLAGS=(--isolation chroot)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/consentd-docker-check.XXXXXX")
name="consentd-check-$$"
redis_pid=""
failed=0
cleanup() {
	local rc=$?
	if podman container exists "$name" 2>/dev/null; then
		if [ "$rc" != 0 ] || [ "$failed" != 0 ]; then
			log "container log (last 40 lines):"
			podman logs "$name" 2>&1 | tail -n 40 | sed 's/^/  | /' >&2 || true
		fi
		podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
	fi
	if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
		kill "$redis_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- base images --------------------------------------------------------------
# go_ok IMAGE-GO-VERSION: is it at least the go line of go.mod?
gomod_go=$(awk '$1 == "go" { print $2; exit }' go.mod)
go_at_least() { [ "$(printf '%s\n%s\n' "$gomod_go" "$1" | sort -V | head -n 1)" = "$gomod_go" ]; }

build_standins() {
	need go golang-go
	local gover goroot standin_go
	gover=$(go env GOVERSION)
	gover=${gover#go}
	goroot=$(go env GOROOT)
	go_at_least "$gover" || die "this machine's Go ($gover) is older than go.mod's go $gomod_go: no stand-in golang image can build it"
	standin_go="localhost/consentd-standin/golang:$gover"

	if [ "$REFRESH_STANDINS" = 1 ] || ! podman image exists "$STANDIN_DEBIAN"; then
		need debootstrap debootstrap
		log "stand-in: Debian bookworm (debootstrap --variant=minbase) → $STANDIN_DEBIAN"
		debootstrap --variant=minbase --include=ca-certificates,tzdata bookworm "$tmp/rootfs" >"$tmp/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
		tar -C "$tmp/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$STANDIN_DEBIAN" >/dev/null
		rm -rf "$tmp/rootfs"
		REFRESH_STANDINS=1 # the images below are built on it
	fi
	if [ "$REFRESH_STANDINS" = 1 ] || ! podman image exists "$standin_go"; then
		log "stand-in: Go $gover from $goroot → $standin_go"
		mkdir -p "$tmp/goctx"
		cp -a "$goroot" "$tmp/goctx/go"
		cp /etc/ssl/certs/ca-certificates.crt "$tmp/goctx/"
		podman build "${BUILD_FLAGS[@]}" -q -f deploy/standin/golang.Containerfile \
			--build-arg "DEBIAN_IMAGE=$STANDIN_DEBIAN" --build-arg "GOLANG_VERSION=$gover" \
			-t "$standin_go" "$tmp/goctx" >/dev/null
		rm -rf "$tmp/goctx"
	fi
	if [ "$REFRESH_STANDINS" = 1 ] || ! podman image exists "$STANDIN_RUNTIME"; then
		log "stand-in: distroless static (nonroot) → $STANDIN_RUNTIME"
		mkdir -p "$tmp/rtctx"
		podman build "${BUILD_FLAGS[@]}" -q -f deploy/standin/distroless-static.Containerfile \
			--build-arg "DEBIAN_IMAGE=$STANDIN_DEBIAN" -t "$STANDIN_RUNTIME" "$tmp/rtctx" >/dev/null
	fi
	GO_IMAGE=$standin_go
	RUNTIME_IMAGE=$STANDIN_RUNTIME
}

pull_upstream() {
	local img
	for img in "$UPSTREAM_GO_IMAGE" "$UPSTREAM_RUNTIME_IMAGE"; do
		if ! podman pull -q "$img" >"$tmp/pull.log" 2>&1; then
			pull_error="$img: $(tail -n 1 "$tmp/pull.log")"
			return 1
		fi
	done
	GO_IMAGE=$UPSTREAM_GO_IMAGE
	RUNTIME_IMAGE=$UPSTREAM_RUNTIME_IMAGE
}

pull_error=""
bases_note=""
case "$BASES" in
upstream) pull_upstream || die "cannot pull the base images: $pull_error" ;;
standin) build_standins ;;
auto)
	if ! pull_upstream; then
		bases_note="STAND-IN base images (deploy/standin/), not $UPSTREAM_GO_IMAGE and $UPSTREAM_RUNTIME_IMAGE, which could not be pulled: $pull_error"
		log "NOTE: $bases_note"
		build_standins
	fi
	;;
esac
log "bases: $GO_IMAGE, $RUNTIME_IMAGE"

# ---- build -------------------------------------------------------------------
build() { # build LOG [extra flags]
	local out=$1
	shift
	podman build "${BUILD_FLAGS[@]}" "$@" -f deploy/Dockerfile -t "$IMAGE" \
		--build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" . >"$out" 2>&1 ||
		{ tail -n 40 "$out" >&2; die "podman build -f deploy/Dockerfile failed (log above)"; }
}
first_flags=()
[ "$NO_CACHE" = 1 ] && first_flags=(--no-cache)
log "building: podman build ${BUILD_FLAGS[*]}${first_flags[*]:+ ${first_flags[*]}} -f deploy/Dockerfile -t $IMAGE --build-arg GO_IMAGE=… --build-arg RUNTIME_IMAGE=… ."
t0=$(secs)
build "$tmp/build1.log" "${first_flags[@]}"
t1=$(secs)
build "$tmp/build2.log"
t2=$(secs)
build_first=$(elapsed "$t0" "$t1")
build_again=$(elapsed "$t1" "$t2")
log "build: ${build_first}s$([ "$NO_CACHE" = 1 ] && echo ' (no cache)'); again with nothing changed: ${build_again}s"

# ---- checks ------------------------------------------------------------------
pass=0
ok() {
	pass=$((pass + 1))
	printf 'ok    %s\n' "$1"
}
bad() {
	failed=$((failed + 1))
	printf 'FAIL  %s\n' "$1" >&2
}
check() { # check DESCRIPTION COMMAND...: COMMAND's status decides
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

# Nothing may be rebuilt when nothing changed: every step after FROM cached.
steps=$(grep -c '^\[[0-9]/[0-9]\] STEP' "$tmp/build2.log" || true)
cached=$(grep -c '^--> Using cache' "$tmp/build2.log" || true)
froms=$(grep -c '^\[[0-9]/[0-9]\] STEP [0-9]*/[0-9]*: FROM' "$tmp/build2.log" || true)
check "second build fully cached ($cached of $((steps - froms)) steps)" test "$cached" -eq "$((steps - froms))"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }')
check "image size ${size_mb} MB (limit ${MAX_IMAGE_MB} MB)" test "$size" -le "$((MAX_IMAGE_MB * 1000000))"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
check "image user is numeric non-root ($user)" bash -c '[[ $1 =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]' _ "$user"

podman run --rm "${RUN_FLAGS[@]}" "$IMAGE" --help >"$tmp/help.out" 2>&1 && help_rc=0 || help_rc=$?
check "consentd --help exits 0 (exit $help_rc)" test "$help_rc" = 0
check "consentd --help prints the usage" grep -q '^Usage: consentd' "$tmp/help.out"

# A signing key made by the image itself, owned by its user (0600).
mkdir -p "$tmp/keys"
chown 65532:65532 "$tmp/keys"
podman run --rm "${RUN_FLAGS[@]}" -v "$tmp/keys:/keys" "$IMAGE" keys create --out /keys/signing.key >"$tmp/keys.out" 2>&1 &&
	keys_rc=0 || keys_rc=$?
kid=$(sed -n 's/.*"kid":"\([0-9a-f]*\)".*/\1/p' "$tmp/keys.out" | head -n 1)
check "consentd keys create in the image (exit $keys_rc, kid $kid)" bash -c '[ "$1" = 0 ] && [ -n "$2" ] && [ -s "$3" ]' _ "$keys_rc" "$kid" "$tmp/keys/signing.key"

# ---- Redis and the container -----------------------------------------------------
free_port() { # a port nothing listens on now
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Htln "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}
mkdir -p "$tmp/redis"
for _ in 1 2 3 4 5; do
	rport=$(free_port)
	if redis-server --port "$rport" --bind 127.0.0.1 --appendonly yes --save '' --dir "$tmp/redis" \
		--daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log"; then
		for _ in $(seq 50); do
			[ -s "$tmp/redis.pid" ] && redis-cli -p "$rport" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
		redis_pid=$(cat "$tmp/redis.pid" 2>/dev/null || true)
		[ -n "$redis_pid" ] && redis-cli -p "$rport" ping >/dev/null 2>&1 && break
	fi
	redis_pid=""
done
[ -n "$redis_pid" ] || die "redis-server did not start (log: $(tail -n 3 "$tmp/redis.log" 2>/dev/null))"
log "redis-server on 127.0.0.1:$rport (pid $redis_pid)"

cport=$(free_port)
base="http://127.0.0.1:$cport"
podman run -d --name "$name" "${RUN_FLAGS[@]}" \
	--read-only --cap-drop all --security-opt no-new-privileges \
	-v "$ROOT/config/sites:/etc/consentd/sites:ro" \
	-v "$tmp/keys/signing.key:/run/secrets/signing-key:ro" \
	-e CONSENTD_SIGNING_KEY=/run/secrets/signing-key \
	-e "CONSENTD_LISTEN=127.0.0.1:$cport" \
	-e "CONSENTD_REDIS_URL=redis://127.0.0.1:$rport/0" \
	"$IMAGE" >/dev/null || die "podman run failed"
log "consentd container $name on $base"
up=0
for _ in $(seq 150); do
	if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then
		up=1
		break
	fi
	[ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || break
	sleep 0.1
done
[ "$up" = 1 ] || die "consentd did not answer /healthz within 15 s"

# status URL [curl args...]: the HTTP status, the body in $tmp/body, headers in $tmp/headers
status() {
	local url=$1
	shift
	curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" "$url" || echo 000
}
header() { grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d: -f2- | tr -d ' \r'; }

check "GET /healthz → 200" test "$(status "$base/healthz")" = 200
check "GET /readyz → 200 (Redis answers)" test "$(status "$base/readyz")" = 200

check "GET /w/demo.js → 200 (identity)" test "$(status "$base/w/demo.js" -H 'Accept-Encoding: identity')" = 200
cp "$tmp/body" "$tmp/w.js"
check "  not compressed, JavaScript" bash -c '[ -z "$1" ] && [ -s "$2" ] && head -c 4096 "$2" | grep -q "[(;]"' _ "$(header Content-Encoding)" "$tmp/w.js"
check "GET /w/demo.js, Accept-Encoding: gzip → 200" test "$(status "$base/w/demo.js" -H 'Accept-Encoding: gzip')" = 200
check "  Content-Encoding: gzip, decodes to the same script" bash -c '[ "$1" = gzip ] && gzip -dc <"$2" | cmp -s - "$3"' _ "$(header Content-Encoding)" "$tmp/body" "$tmp/w.js"
check "GET /w/demo.js, Accept-Encoding: br → 200" test "$(status "$base/w/demo.js" -H 'Accept-Encoding: br')" = 200
check "  Content-Encoding: br, decodes to the same script" bash -c '[ "$1" = br ] && brotli -dc <"$2" | cmp -s - "$3"' _ "$(header Content-Encoding)" "$tmp/body" "$tmp/w.js"

check "GET /n/demo → 200 HTML notice page" test "$(status "$base/n/demo")" = 200
check "  text/html with a title" bash -c '[[ $1 == text/html* ]] && grep -q "<title>" "$2"' _ "$(header Content-Type)" "$tmp/body"
check "GET /n/demo.json → 200" test "$(status "$base/n/demo.json")" = 200
nv=$(tr -d ' \n' <"$tmp/body" | sed -n 's/.*"versions":{[^}]*"fi":"\([0-9a-f]*\)".*/\1/p')
check "  has a Finnish notice version ($nv)" test -n "$nv"

origin=http://localhost:8080 # in config/sites/demo.yaml's origins
body='{"site":"demo","choices":{"necessary":true,"analytics":true,"marketing":false},"method":"custom","noticeVersion":"'"$nv"'","language":"fi","url":"http://localhost:8080/docker-check"}'
key="docker-check-$$-$RANDOM"
post() { status "$base/v1/consent" -X POST -H 'Content-Type: application/json' -H "Origin: $1" -H "Idempotency-Key: $key" --data "$body"; }
check "POST /v1/consent from another origin → 403" test "$(post http://other.example)" = 403
check "POST /v1/consent → 201" test "$(post "$origin")" = 201
record_id=$(sed -n 's/.*"recordId":"\([^"]*\)".*/\1/p' "$tmp/body")
check "  answer has a recordId and a receipt signed with the mounted key" \
	bash -c '[ -n "$1" ] && [ -n "$2" ] && grep -q "\"kid\":\"$2\"" "$3"' _ "$record_id" "$kid" "$tmp/body"
check "POST again, same Idempotency-Key → 200 duplicate" bash -c '[ "$1" = 200 ] && grep -q "\"duplicate\":true" "$2"' _ "$(post "$origin")" "$tmp/body"
redis-cli -p "$rport" XRANGE 'c:{demo}:log' - + >"$tmp/xrange" 2>&1 || true
check "redis-cli XRANGE 'c:{demo}:log' - + holds the record, once" \
	bash -c '[ -n "$1" ] && [ "$(grep -c "\"record_id\":\"$1\"" "$2")" = 1 ]' _ "$record_id" "$tmp/xrange"

pid=$(podman inspect -f '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo "?")
check "consentd runs as uid 65532, not root (uid $uid)" test "$uid" = 65532
check "consentd is PID 1 of the container" bash -c '[ "$(podman top "$1" pid | tail -n 1 | tr -d " ")" = 1 ]' _ "$name"

podman kill -s HUP "$name" >/dev/null
reloaded=0
for _ in $(seq 50); do
	podman logs "$name" 2>&1 | grep -q '"msg":"reloaded"' && { reloaded=1; break; }
	sleep 0.1
done
check "SIGHUP (podman kill -s HUP) reloads the sites" test "$reloaded" = 1

t0=$(secs)
podman stop -t 30 "$name" >/dev/null
t1=$(secs)
stop_s=$(elapsed "$t0" "$t1")
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
check "SIGTERM (podman stop): stopped in ${stop_s}s (limit ${STOP_MAX_S}s)" awk -v s="$stop_s" -v m="$STOP_MAX_S" 'BEGIN { exit !(s < m) }'
check "  exit code 0 (got $code)" test "$code" = 0
check "  logs say shutting down, then stopped cleanly" \
	bash -c 'podman logs "$1" 2>&1 | grep -q "\"msg\":\"shutting down\"" && podman logs "$1" 2>&1 | grep -q "\"msg\":\"stopped cleanly\""' _ "$name"

echo
log "image $IMAGE: ${size_mb} MB; build ${build_first}s, again ${build_again}s; stop ${stop_s}s"
[ -n "$bases_note" ] && log "NOTE: $bases_note"
log "$pass passed, $failed failed"
[ "$failed" = 0 ]
