# Debian 12 packages lunar needs, installed on demand. Sourced by the
# other scripts; run as root (or with sudo available).

# jansson: the management API's JSON; microhttpd: the metrics endpoint;
# libisns: iSNS registration (open-isns); scdoc: the man pages.
LUNAR_BUILD_PKGS="gcc meson ninja-build pkg-config liburing-dev libssl-dev
  libconfig-dev libsystemd-dev libjansson-dev libmicrohttpd-dev libisns-dev scdoc"
# open-isns-server and -utils: isnsd and isnsadm, the iSNS test peer.
LUNAR_TEST_PKGS="libcmocka-dev libiscsi-dev libiscsi-bin qemu-utils qemu-block-extra
  clang libclang-rt-14-dev python3 iproute2 tgt open-isns-server open-isns-utils"
# bench/run.sh only: istgt is a peer target; iperf3 measures the machine's
# single-stream TCP throughput beside the results.
LUNAR_BENCH_PKGS="tgt istgt iperf3 libiscsi-dev"

# lunar_install PKG...: installs whichever of the packages are missing.
lunar_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}
