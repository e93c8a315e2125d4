# Shared helpers for the scripts in this directory.  Sourced, not run:
#   SCRIPTS=$(cd "$(dirname "$0")" && pwd) && . "$SCRIPTS/lib.sh"
# Every path is derived from the location of this file.

ROOT=$(cd "$SCRIPTS/.." && pwd)
BUILD=$ROOT/build
SRC=$BUILD/src/linux
# what the pipeline remembers about the pushed series (outside quilt's .pc)
QSTATE=$BUILD/src/linux.pushed
OBJ=$BUILD/obj
PATCHES=$ROOT/patches
SERIES=$PATCHES/series
PROG=${0##*/}
FRAGMENT=$ROOT/config/uml.config

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

now() { date +%s; }
# elapsed START: wall time since START (from now) as e.g. "3m07s"
elapsed() {
	_s=$(( $(now) - $1 ))
	printf '%dm%02ds' $((_s / 60)) $((_s % 60))
}

# Print the usage text: the comment block after the shebang, without '# '.
usage() {
	sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' "$0"
}

# series_patches [DIR]: the patch names listed in DIR/series (default
# patches/series), in order.  Comments, blank lines and per-patch options
# (e.g. -p1) are ignored; an absent series file is an empty series.
series_patches() {
	[ -f "${1:-$PATCHES}/series" ] || return 0
	sed -e 's/#.*//' "${1:-$PATCHES}/series" | awk 'NF { print $1 }'
}

# diff_paths WHICH PATCHFILE: paths named by the patch's file headers
# (outside hunks, -p1): WHICH=all for every path it adds, changes, deletes
# or renames, WHICH=new for those that exist after it applies.
diff_paths() {
	awk -v which="$1" '
	function path(p) { sub(/\t.*/, "", p); if (p == "/dev/null") return ""; sub(/^[^\/]*\//, "", p); return p }
	old > 0 || new > 0 {
		c = substr($0, 1, 1)
		if (c == "-") old--
		else if (c == "+") new--
		else if (c == " " || $0 == "") { old--; new-- }
		next
	}
	/^@@ / {
		o = $2; n = $3; sub(/^-/, "", o); sub(/^\+/, "", n)
		old = (o ~ /,/) ? substr(o, index(o, ",") + 1) + 0 : 1
		new = (n ~ /,/) ? substr(n, index(n, ",") + 1) + 0 : 1
		next
	}
	/^--- / { if (which == "all" && (p = path($2)) != "") print p; next }
	/^\+\+\+ / { if ((p = path($2)) != "") print p; next }
	/^rename from / { if (which == "all") print $3; next }
	/^(rename|copy) to / { print $3 }
	' "$2" | sort -u
}
patch_paths() { diff_paths all "$1"; }
patch_new_paths() { diff_paths new "$1"; }

# series_paths [DIR]: union of patch_paths over a series.
series_paths() {
	series_patches "${1:-}" | while read -r _p; do
		[ -f "${1:-$PATCHES}/$_p" ] || die "the series lists $_p but there is no such patch file"
		patch_paths "${1:-$PATCHES}/$_p"
	done | sort -u
}

# series_sum [DIR]: a checksum of a series file and every patch it lists,
# used to tell whether the pushed tree still matches patches/.
series_sum() {
	{
		series_patches "${1:-}"
		series_patches "${1:-}" | while read -r _p; do cat "${1:-$PATCHES}/$_p"; done
	} | sha256sum | cut -d' ' -f1
}

# snapshot_series DIR: copy patches/series and the patches it lists to DIR,
# so a push is not disturbed by someone rewriting patches/ meanwhile.
snapshot_series() {
	rm -rf "$1"
	mkdir -p "$1"
	series_patches >"$1/series"
	series_patches | while read -r _p; do
		[ -f "$PATCHES/$_p" ] || die "patches/series lists $_p but patches/$_p does not exist"
		mkdir -p "$1/$(dirname "$_p")"
		cp "$PATCHES/$_p" "$1/$_p"
	done
}

q() { (cd "$SRC" && quilt --quiltrc=- "$@"); }
export QUILT_PATCHES="$PATCHES"
export QUILT_SERIES="$SERIES"
export QUILT_PC=.pc

need_tree() {
	[ -f "$SRC/Makefile" ] || die "no kernel tree in build/src/linux; run scripts/get-kernel (make kernel) first"
}

# applied_patches: patches quilt has pushed in build/src/linux, in order.
applied_patches() {
	[ -f "$SRC/.pc/applied-patches" ] && cat "$SRC/.pc/applied-patches" || true
}

# tree_matches PATCHDIR APPLIED FILES: true when each of FILES in the tree is
# exactly its base version (quilt's backup) with the APPLIED patches, as
# found in PATCHDIR, applied in order.
tree_matches() {
	_chk=$(mktemp -d "$BUILD/tmp/verify.XXXXXX")
	mkdir -p "$_chk/t"
	for _f in $3; do
		for _p in $2; do
			[ -e "$SRC/.pc/$_p/$_f" ] || continue
			# an empty backup stands for "did not exist"
			if [ -s "$SRC/.pc/$_p/$_f" ]; then
				mkdir -p "$_chk/t/$(dirname "$_f")"
				cp "$SRC/.pc/$_p/$_f" "$_chk/t/$_f"
			fi
			break
		done
	done
	_ok=0
	for _p in $2; do
		[ -f "$1/$_p" ] || { _ok=1; break; }
		patch -d "$_chk/t" -p1 -s -f -E --no-backup-if-mismatch \
			<"$1/$_p" >/dev/null 2>&1 || { _ok=1; break; }
	done
	if [ "$_ok" = 0 ]; then
		for _f in $3; do
			if [ -e "$SRC/$_f" ] || [ -e "$_chk/t/$_f" ]; then
				cmp -s "$SRC/$_f" "$_chk/t/$_f" || { _ok=1; break; }
			fi
		done
	fi
	rm -rf "$_chk"
	return "$_ok"
}

# pop_all: take build/src/linux back to the pristine base and touch every
# file the popped patches had touched, so make rebuilds them (quilt gives
# restored files old or whole-second mtimes).  If the tree has changes that
# are not in the pushed patches (hand edits), they are saved under
# build/src/discarded-<time>/ first.
pop_all() {
	_applied=$(applied_patches)
	[ -n "$_applied" ] || { rm -rf "$QSTATE"; return 0; }
	_files=$(cd "$SRC/.pc" && for _p in $_applied; do
		[ -d "$_p" ] && (cd "$_p" && find . -type f ! -name .timestamp) | sed 's|^\./||'
	done | sort -u)
	# quilt's own check (mtimes) refuses any stack where two patches touch
	# one file, so compare the tree with base + the pushed patch texts
	if [ -f "$QSTATE/pushed/series" ]; then
		_qp=$QSTATE/pushed
	else
		_qp=$PATCHES
	fi
	if ! tree_matches "$_qp" "$_applied" "$_files"; then
		_save=$BUILD/src/discarded-$(date +%Y%m%d-%H%M%S)
		mkdir -p "$_save"
		for _p in $_applied; do
			mkdir -p "$_save/$(dirname "$_p")"
			QUILT_PATCHES=$_qp QUILT_SERIES=$_qp/series q diff -P "$_p" >"$_save/$_p" 2>/dev/null || true
		done
		warn "build/src/linux has changes that are not in the pushed patches (hand edits?); saved its diffs in ${_save#"$ROOT"/}/ and restoring the base"
	fi
	q pop -a -f -q >"$BUILD/tmp/quilt-pop.log" 2>&1 ||
		die "quilt pop -a -f failed in build/src/linux (see build/tmp/quilt-pop.log); delete build/src/linux and run scripts/get-kernel"
	rm -rf "$QSTATE"
	touch_paths $_files
}

# save_pushed SNAPSHOT: remember the snapshot the tree was pushed from (its
# patch texts for pop_all, its checksum for push_all).
save_pushed() {
	rm -rf "$QSTATE/pushed"
	mkdir -p "$QSTATE"
	mv "$1" "$QSTATE/pushed"
	series_sum "$QSTATE/pushed" >"$QSTATE/series-sum"
}

# touch_paths PATH...: touch the given tree-relative paths that exist.
touch_paths() {
	for _f in "$@"; do
		[ -e "$SRC/$_f" ] && touch "$SRC/$_f"
	done
	return 0
}

# push_all: make build/src/linux the base plus every patch in patches/series,
# unless it already is (same series, same patch contents).
push_all() {
	if [ "$(applied_patches)" = "$(series_patches)" ] &&
	   [ -f "$QSTATE/series-sum" ] &&
	   [ "$(cat "$QSTATE/series-sum")" = "$(series_sum)" ]; then
		return 0
	fi
	pop_all
	_snap=$BUILD/src/linux.snapshot
	snapshot_series "$_snap"
	if [ -n "$(series_patches "$_snap")" ]; then
		QUILT_PATCHES=$_snap QUILT_SERIES=$_snap/series \
			q push -a -q >"$BUILD/tmp/quilt-push.log" 2>&1 || {
			sed 's/^/  /' "$BUILD/tmp/quilt-push.log" >&2
			die "patch $(sed -n 's/^Applying patch //p' "$BUILD/tmp/quilt-push.log" | tail -n 1) does not apply to the base (quilt push -a failed)"
		}
	fi
	save_pushed "$_snap"
}

# lock_tree: serialise everything that changes build/src/linux or build/obj
# (the lock is held until the calling script exits).
lock_tree() {
	mkdir -p "$BUILD/tmp"
	exec 9>"$BUILD/.tree.lock"
	if ! flock -n 9; then
		say "waiting for another build in this checkout to finish"
		flock 9
	fi
}

# kmake ARGS...: make in build/src/linux with O=build/obj, ARCH=um, ccache.
kmake() {
	_cc=gcc
	if command -v ccache >/dev/null 2>&1; then
		_cc="ccache gcc"
		# the default cache directory, shared by every checkout; paths
		# under the checkout are hashed relative so other checkouts hit
		export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=true
	fi
	make -C "$SRC" O="$OBJ" ARCH=um CC="$_cc" HOSTCC="$_cc" \
		KBUILD_BUILD_USER=uml KBUILD_BUILD_HOST=uml-seccomp \
		"$@"
}

# with_progress LOG WHAT CMD...: run CMD with its output in LOG, printing a
# line every 30 s; on failure show the end of LOG.
with_progress() {
	_log=$1 _what=$2
	shift 2
	_t0=$(now)
	(
		exec 9>&-	# do not hold the tree lock
		_n=0
		while sleep 5; do
			kill -0 $$ 2>/dev/null || exit 0
			_n=$((_n + 5))
			[ $((_n % 30)) = 0 ] || continue
			say "  ... $_what: $(grep -c '^  [A-Z]' "$_log" 2>/dev/null || echo 0) steps, $(elapsed "$_t0")"
		done
	) &
	_reporter=$!
	trap 'kill "$_reporter" 2>/dev/null; exit 130' INT TERM
	if "$@" >"$_log" 2>&1; then _rc=0; else _rc=$?; fi
	kill "$_reporter" 2>/dev/null || true
	wait "$_reporter" 2>/dev/null || true
	trap - INT TERM
	if [ "$_rc" != 0 ]; then
		echo "----- last lines of ${_log#"$ROOT"/} -----" >&2
		grep -n -E 'error|Error|\*\*\*' "$_log" | tail -n 20 >&2 || true
		tail -n 20 "$_log" >&2
		echo "-----" >&2
	fi
	return "$_rc"
}

# configure KIND: defconfig + fragment, then check every fragment option that
# exists in this tree has the value the fragment asks for.
configure() {
	kmake x86_64_defconfig >"$BUILD/logs/config-$1.log" 2>&1 ||
		die "make x86_64_defconfig failed (build/logs/config-$1.log)"
	(cd "$SRC" && ARCH=um scripts/kconfig/merge_config.sh -m -O "$OBJ" \
		"$OBJ/.config" "$FRAGMENT") >>"$BUILD/logs/config-$1.log" 2>&1 ||
		die "merge_config.sh failed (build/logs/config-$1.log)"
	kmake olddefconfig >>"$BUILD/logs/config-$1.log" 2>&1 ||
		die "make olddefconfig failed (build/logs/config-$1.log)"

	find "$SRC" -name 'Kconfig*' -type f -exec \
		sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/\2/p' {} + |
		sort -u >"$BUILD/tmp/kconfig-symbols"
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)/\1 \2/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set/\1 n/p' "$FRAGMENT" | {
		bad=0
		while read -r opt val; do
			sym=${opt#CONFIG_}
			if ! grep -qx "$sym" "$BUILD/tmp/kconfig-symbols"; then
				say "  $opt does not exist in this tree (ignored)"
				continue
			fi
			got=$(sed -n -e "s/^$opt=//p" -e "s/^# $opt is not set/n/p" "$OBJ/.config")
			[ -n "$got" ] || got=n
			if [ "$got" != "$val" ]; then
				echo "$PROG: error: $opt=$val from config/uml.config did not stick (.config has $got); check its dependencies" >&2
				bad=1
			fi
		done
		exit "$bad"
	} || die "config/uml.config does not apply cleanly; see above"
}

OVERLAY=$ROOT/arch-um-overlay

# overlay_paths: the files the pushed series leaves in the tree (added or
# changed), one per line.
overlay_paths() {
	series_patches "$QSTATE/pushed" | while read -r _p; do
		patch_new_paths "$QSTATE/pushed/$_p"
	done | sort -u
}

# make_overlay DEST: copy the post-series text of every overlay_paths file
# from the pushed build/src/linux into DEST (same relative paths).
make_overlay() {
	rm -rf "$1"
	mkdir -p "$1"
	overlay_paths | while read -r _f; do
		# a file a later patch deletes again is not in the tree
		[ -f "$SRC/$_f" ] || continue
		mkdir -p "$1/$(dirname "$_f")"
		cp "$SRC/$_f" "$1/$_f"
	done
}

# ---- guest runs (scripts/benign, scripts/hostfault) --------------------------

# What the series logs when it refuses a stub syscall or kills a stub, and
# what UML logs when it loses one; benign work must never show these.
STUB_EVENTS='refused .* of the stub|seccomp watchdog: killed|stub did not complete its queued syscalls|Unexpectedly lost MM child|stub pid [0-9]* died while it ran'
# Kernel trouble on a guest console.
KERNEL_TROUBLE='Kernel panic|BUG:|WARNING:|Oops|blocked for more than'

# resolve_kernel K: set KPATH to the absolute path of UML binary K
# (build/K/linux for a name without a slash, else the path K) and KNAME to
# the name of its directory; dies when there is no such executable.
resolve_kernel() {
	case "$1" in
	*/*) KPATH=$1 ;;
	*) KPATH=$BUILD/$1/linux ;;
	esac
	[ -x "$KPATH" ] || die "no UML kernel at $KPATH (build it: scripts/build-kernel)"
	KPATH=$(cd "$(dirname "$KPATH")" && pwd)/$(basename "$KPATH")
	KNAME=$(basename "$(dirname "$KPATH")")
}

# console_count PATTERN LOG: lines of guest console LOG that match the
# extended regex PATTERN, not counting the output of the guest programs
# themselves (guest-run echoes it with a "[NAME] " prefix).
console_count() {
	grep -v -E '^\[[A-Za-z0-9_.-]+\] ' "$2" 2>/dev/null | grep -c -E "$1" || :
}

# console_show PATTERN LOG [N]: the first N (default 5) such lines.
console_show() {
	grep -v -E '^\[[A-Za-z0-9_.-]+\] ' "$2" 2>/dev/null | grep -E "$1" | head -n "${3:-5}" || :
}

# alive PID: true while process PID exists and has not exited (a child
# that exited stays a zombie until waited for, and kill -0 still works on it)
alive() {
	read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
	_stat=${_stat##*) }
	[ "${_stat%% *}" != Z ]
}

# wait_for_line PATTERN FILE PID: wait until FILE has a line matching the
# extended regex PATTERN (status 0) or process PID is gone (status 1).
wait_for_line() {
	while ! grep -q -E "$1" "$2" 2>/dev/null; do
		alive "$3" || return 1
		sleep 0.2
	done
}
