#!/bin/sh
# A second real viewer: gtk-vnc's gvncviewer, under Xvfb, shows vfbd's
# static demo console with its default encodings; an xwd screenshot of the
# framebuffer area must equal the source frame (written by vfbd-frame).
# With xdotool, text typed into the viewer must then appear exactly as the
# demo console draws it, and the pointer moved and clicked inside the
# viewer must reach the demo (its status line).
#
# What gtk-vnc 1.3.1 (Debian 12) asks for, in its order: JPEG quality 5
# (-27), Tight, xvp (-309), QEMU extended key events (-258), QEMU LED
# state (-261), ExtendedDesktopSize, DesktopSize, DesktopName, LastRect,
# VMware WMVi, QEMU audio (-259), cursor with alpha (-314), Cursor,
# XCursor, QEMU pointer type change (-257), ZRLE, Hextile, RRE, CopyRect,
# Raw. No compression level, no fences, no continuous updates. vfbd picks
# Tight and, for the colour strip, JPEG.
#
# How the picture is taken:
# - Xvfb (depth 24, no window manager) picks a free display itself
#   (-displayfd). Its TrueColor visual shows XRGB8888 exactly.
# - gvncviewer takes only "[host][:display]" and connects to port
#   5900 + display; any port is reachable that way (the display number
#   may be negative). It never scales by default and sizes its window to
#   the remote desktop: a GTK menu bar (25 px with Debian 12's GTK 3.24)
#   above a 1024x768 drawing area. The test does not rely on that height:
#   it finds the window as the bounding box of everything not black on
#   the black root window, requires it to be 1024 wide and at least 768
#   high, and takes the frame as its bottom 1024x768 (the display widget
#   ends the window). The pointer is never in a screenshot.
# - gvncviewer runs with --gtk-vnc-debug: its log says which keyboard
#   mode ("Keyboard mode extended": QEMU extended key events, i.e.
#   scancodes) and which pointer mode ("Pointer mode absolute|relative")
#   vfbd's pseudo-rects selected; both are checked.
#
# Under CI=true a missing tool is a failure, not a skip.
set -u

: "${VFBD:=build/vfbd}"
: "${BUILD:=build}"
FRAME="$BUILD/tools/vfbd-frame"
W=1024
H=768
TYPED='Hi vfbd!'
# The demo's status line (pointer position and buttons): the last 20 rows.
STATUS_Y=748
STATUS_H=20

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $*"
}
# TAP comments: the arguments, or standard input without any.
note() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*"
	else
		cat
	fi | sed 's/^/# /'
}
now() {
	date +%s
}
# The earlier of now + $1 seconds and the whole test's deadline.
deadline() {
	d=$(($(now) + $1))
	[ "$d" -lt "$test_end" ] || d=$test_end
	echo "$d"
}
test_end=$(($(now) + 28))

xvfb_pid=
vfbd_pid=
viewer_pid=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfbd-gvnc.XXXXXX") || exit 1

# True while the process runs (a zombie awaiting wait is not running).
running() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in
	Z*) return 1 ;;
	esac
	return 0
}

stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	i=0
	while running "$1" && [ "$i" -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	running "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	# A second signal must not cut the cleanup short.
	trap '' INT TERM HUP
	stop "$viewer_pid"
	stop "$vfbd_pid"
	stop "$xvfb_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

finish() {
	echo "1..$n"
	exit $failed
}

# Keeps what a failed run saw for the person reading the log.
save_evidence() {
	mkdir -p "$BUILD/test-logs"
	if [ -f "$tmp/shot.xwd" ]; then
		convert "$tmp/shot.xwd" "$BUILD/test-logs/test-gvnc-shot.png" &&
			note "screenshot: $BUILD/test-logs/test-gvnc-shot.png"
	fi
	for f in xvfb vfbd viewer; do
		[ -s "$tmp/$f.log" ] || continue
		note "--- $f log (last lines)"
		# gtk-vnc's debug log: without the per-rectangle chatter.
		grep -v -e 'FramebufferUpdate' -e 'Notify update' \
			-e 'Emit main context' -e 'Num rects' \
			-e 'framebuffer update at' "$tmp/$f.log" |
			tail -n 15 | note
	done
}

# Tools: a missing one fails under CI and skips the test elsewhere.
missing=
for tool in Xvfb xwd convert compare gvncviewer; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	if [ "${CI:-}" = true ]; then
		not_ok "gtk-vnc viewer test: missing:$missing (tools/install-deps)"
	else
		ok "gtk-vnc viewer test # SKIP missing:$missing"
	fi
	finish
fi
for bin in "$VFBD" "$FRAME"; do
	if [ ! -x "$bin" ]; then
		not_ok "gtk-vnc viewer test: $bin is not built"
		finish
	fi
done
xdotool=$(command -v xdotool)

"$FRAME" --source demo:static --out "$tmp/expected.ppm" || {
	not_ok "vfbd-frame writes the demo:static frame"
	finish
}

# Xvfb writes the display number to fd 3 once it accepts connections.
# -noreset: by default it resets (pointer back to the centre) whenever its
# last client leaves, e.g. after an xdotool call.
Xvfb -displayfd 3 -noreset -nolisten tcp -br -screen 0 1280x1024x24 \
	3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
end=$(deadline 10)
display=
while [ -z "$display" ] && [ "$(now)" -lt "$end" ] && running "$xvfb_pid"; do
	sleep 0.1
	display=$(tr -dc 0-9 <"$tmp/display")
done
if [ -z "$display" ]; then
	not_ok "Xvfb starts"
	save_evidence
	finish
fi
export DISPLAY=":$display"

# The pointer stays out of the viewer window (1024x793 at the top left)
# until the pointer test: the demo console draws the pointer position.
if [ -n "$xdotool" ]; then
	xdotool mousemove 1279 1023 getmouselocation >"$tmp/pointer" 2>&1
	grep -q 'x:1279 y:1023' "$tmp/pointer" ||
		note "pointer not moved: $(cat "$tmp/pointer")"
fi

# Debug level: vfbd logs the client's encoding count and its choice.
"$VFBD" --source demo:static --listen 127.0.0.1:0 --log-level debug \
	2>"$tmp/vfbd.log" &
vfbd_pid=$!
end=$(deadline 10)
port=
while [ -z "$port" ] && [ "$(now)" -lt "$end" ] && running "$vfbd_pid"; do
	sleep 0.05
	port=$(sed -n 's/.*listening addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		"$tmp/vfbd.log" | head -n 1)
done
if [ -z "$port" ]; then
	not_ok "vfbd listens"
	save_evidence
	finish
fi

# A private HOME, XDG dirs and settings backend so nothing saved can leak
# in; X11 at scale 1 whatever the caller's desktop; no accessibility bus.
mkdir -p "$tmp/home/.config" "$tmp/home/.cache" "$tmp/home/.local/share" \
	"$tmp/home/.local/state" "$tmp/run"
chmod 700 "$tmp/run"
HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
	XDG_CACHE_HOME="$tmp/home/.cache" \
	XDG_DATA_HOME="$tmp/home/.local/share" \
	XDG_STATE_HOME="$tmp/home/.local/state" XDG_RUNTIME_DIR="$tmp/run" \
	GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 GDK_BACKEND=x11 \
	GDK_SCALE=1 GDK_DPI_SCALE=1 \
	gvncviewer --gtk-vnc-debug "127.0.0.1:$((port - 5900))" \
	>"$tmp/viewer.log" 2>&1 &
viewer_pid=$!
viewer_end=$(deadline 15)

while ! grep -q 'client-authenticated' "$tmp/vfbd.log" &&
	[ "$(now)" -lt "$viewer_end" ] && running "$viewer_pid"; do
	sleep 0.1
done
if grep -q 'client-authenticated' "$tmp/vfbd.log"; then
	ok "gvncviewer connects to vfbd and authenticates"
else
	not_ok "gvncviewer connects to vfbd and authenticates"
	save_evidence
	finish
fi

# Screenshots until the frame area shows `$1` or `$2` (a time) passes.
# Sets `box` (the window area found), `fx` and `fy` (the frame's top left
# on the screen), `ae` (differing pixels outside the colour strip),
# `far` and `mae` (colour strip).
wait_frame() {
	box=
	ae=
	far=
	mae=
	while :; do
		if xwd -root -silent >"$tmp/shot.xwd" 2>>"$tmp/xwd.log"; then
			box=$(convert "$tmp/shot.xwd" -format '%@' info: 2>&1)
			bw=${box%%x*}
			bh=${box#*x}
			bh=${bh%%+*}
			fx=${box#*+}
			fx=${fx%%+*}
			fy=${box##*+}
			case $bw$bh$fx$fy in
			*[!0-9]*) bw=0 ;;
			esac
			if [ "$bw" = "$W" ] && [ "$bh" -ge "$H" ] &&
				[ "$bh" -le $((H + 100)) ]; then
				fy=$((fy + bh - H))
				check_frame "$1" && return 0
			fi
		fi
		[ "$(now)" -lt "$2" ] && running "$viewer_pid" || return 1
		sleep 0.2
	done
}

# Compares the frame area of the last screenshot with `$1`.
# gtk-vnc asks for JPEG quality 5, and vfbd uses it (libjpeg quality 65,
# 4:2:2 chroma) for many-colour chunks: the demo's colour strip, rows
# 20-59. Horizontal chroma subsampling bleeds across the strip's vertical
# colour edges, up to 45% colour distance (ImageMagick -fuzz) next to an
# edge, while the strip as a whole stays close (mean error 1.1%). So the
# strip must be within 50% everywhere and within 2.5% mean absolute
# error; a wrong, missing or channel-swapped chunk fails both. Every
# other row must be exact.
check_frame() {
	ae=$(
		{
			compare -metric AE "$1[${W}x20+0+0]" \
				"$tmp/shot.xwd[${W}x20+$fx+$fy]" null: 2>&1
			echo
			compare -metric AE "$1[${W}x$((H - 60))+0+60]" \
				"$tmp/shot.xwd[${W}x$((H - 60))+$fx+$((fy + 60))]" \
				null: 2>&1
			echo
		} | awk '{ s += $1 } END { print s + 0 }'
	)
	far=$(compare -metric AE -fuzz 50% "$1[${W}x40+0+20]" \
		"$tmp/shot.xwd[${W}x40+$fx+$((fy + 20))]" null: 2>&1)
	mae=$(compare -metric MAE "$1[${W}x40+0+20]" \
		"$tmp/shot.xwd[${W}x40+$fx+$((fy + 20))]" null: 2>&1 |
		sed -n 's/.*(\([0-9.e-]*\)).*/\1/p')
	[ "$ae" = 0 ] && [ "$far" = 0 ] && [ -n "$mae" ] &&
		awk -v m="$mae" 'BEGIN { exit !(m <= 0.025) }'
}

if wait_frame "$tmp/expected.ppm" "$viewer_end"; then
	ok "gvncviewer frame at +$fx+$fy (window $box) equals the demo:static frame (exact outside the JPEG colour strip; in it within 50% colour distance and mean error $mae <= 0.025)"
else
	not_ok "gvncviewer frame equals the demo:static frame (window area $box, expected ${W}x(${H}+menu bar); differing pixels outside the strip: ${ae:-n/a}; strip pixels beyond 50%: ${far:-n/a}, mean error: ${mae:-n/a})"
	running "$viewer_pid" || note "the viewer exited"
	save_evidence
	finish
fi

sed -n 's/.*\(client-encodings .*\)/vfbd: \1/p' "$tmp/vfbd.log" | note

# Typing: xdotool sends X key events to the viewer. Once vfbd has
# acknowledged the QEMU extended key event pseudo-encoding, gtk-vnc sends
# each key as a QEMU key event (XT scancode plus keysym), and vfbd maps
# the scancode; the demo console echoes the text. The expected frame
# comes from the demo's line editor directly.
if [ -z "$xdotool" ]; then
	[ "${CI:-}" = true ] &&
		not_ok "typing into the viewer: xdotool missing (tools/install-deps)"
	finish
fi
if grep -q 'Keyboard mode extended' "$tmp/viewer.log"; then
	ok "gtk-vnc uses QEMU extended key events (scancodes) with vfbd"
else
	not_ok "gtk-vnc uses QEMU extended key events (scancodes) with vfbd (its log has no 'Keyboard mode extended')"
fi
"$FRAME" --source demo:static --type "$TYPED" --out "$tmp/typed.ppm"
wid=$(xdotool search --limit 1 --name ' - GVncViewer$' 2>/dev/null)
if [ -n "$wid" ] && xdotool windowfocus --sync "$wid" &&
	xdotool type --delay 20 "$TYPED" &&
	wait_frame "$tmp/typed.ppm" "$(deadline 8)"; then
	ok "text typed into the viewer ('$TYPED') appears in the demo console"
else
	not_ok "text typed into the viewer ('$TYPED') appears in the demo console (window ${wid:-not found}; differing pixels: ${ae:-n/a})"
	save_evidence
	finish
fi

# The pointer. The demo's status line reads "pointer X,Y buttons LMR";
# vfbd-frame has no pointer input, so the test checks what it can without
# a rendered expectation: the line changes from the static frame when the
# pointer enters the frame, changes again at another spot, changes while
# the left button is down, and returns to exactly the same pixels when
# it is released at that spot. Told the pointer is relative, gtk-vnc
# sends offsets from 32767 instead (measured: 0x7f5f,0x7f55), which the
# demo clamps to 1023,767 at every spot.
if grep -q 'Pointer mode absolute' "$tmp/viewer.log"; then
	ok "gtk-vnc is told the pointer is absolute (QEMU pointer type change)"
else
	not_ok "gtk-vnc is told the pointer is absolute (QEMU pointer type change; its log says: $(grep -o 'Pointer mode [a-z]*' "$tmp/viewer.log" | tail -n 1))"
fi
convert "$tmp/typed.ppm[${W}x${STATUS_H}+0+$STATUS_Y]" +repage \
	"$tmp/status0.ppm"

# Screenshots until the status line differs from `$1` (or, with `same`
# as `$3`, equals it) or `$2` (a time) passes; it is left in `$tmp/st.ppm`.
# A changed line must also hold still for one more screenshot, so that a
# pointer event still in flight is not taken for the result. Everything
# above the line must stay the typed frame.
wait_status() {
	held=
	while :; do
		if xwd -root -silent >"$tmp/shot.xwd" 2>>"$tmp/xwd.log" &&
			convert "$tmp/shot.xwd[${W}x${STATUS_H}+$fx+$((fy + STATUS_Y))]" \
				+repage "$tmp/st.ppm" 2>>"$tmp/xwd.log"; then
			d=$(compare -metric AE "$1" "$tmp/st.ppm" null: 2>&1)
			case ${3:-}:$d in
			same:0 | :[1-9]*)
				rest=$(compare -metric AE \
					"$tmp/typed.ppm[${W}x$((STATUS_Y - 60))+0+60]" \
					"$tmp/shot.xwd[${W}x$((STATUS_Y - 60))+$fx+$((fy + 60))]" \
					null: 2>&1)
				if [ "$rest" = 0 ]; then
					[ -n "${3:-}" ] && return 0
					[ -n "$held" ] && [ "$(compare -metric AE \
						"$tmp/held.ppm" "$tmp/st.ppm" null: 2>&1)" = 0 ] &&
						return 0
					cp "$tmp/st.ppm" "$tmp/held.ppm"
					held=1
				fi
				;;
			*) held= ;;
			esac
		fi
		[ "$(now)" -lt "$2" ] && running "$viewer_pid" || return 1
		sleep 0.15
	done
}

# Two spots well inside the frame, with different coordinates. gtk-vnc
# sends nothing for the move that brings the pointer into its window, nor
# for one that follows at once (measured with strace: only a move after a
# pause reaches vfbd). So the pointer enters nearby, rests, then moves to
# the spot; up to three tries. Inside, later moves always arrive.
ax=300 ay=400 bx=517 by=291
enter_at_a() {
	tries=0
	while [ "$tries" -lt 3 ]; do
		tries=$((tries + 1))
		xdotool mousemove $((fx + ax - 20)) $((fy + ay - 20)) &&
			sleep 0.3 &&
			xdotool mousemove $((fx + ax)) $((fy + ay)) || return 1
		if wait_status "$tmp/status0.ppm" "$(deadline 2)"; then
			[ "$tries" = 1 ] || note "the pointer took $tries tries"
			return 0
		fi
	done
	return 1
}
enter_at_a &&
	cp "$tmp/st.ppm" "$tmp/statusA.ppm" &&
	xdotool mousemove $((fx + bx)) $((fy + by)) &&
	wait_status "$tmp/statusA.ppm" "$(deadline 4)" &&
	cp "$tmp/st.ppm" "$tmp/statusB.ppm"
r=$?
if [ $r = 0 ]; then
	ok "moving the pointer inside the viewer ($ax,$ay then $bx,$by) changes the demo's status line each time"
else
	not_ok "moving the pointer inside the viewer ($ax,$ay then $bx,$by) changes the demo's status line each time (last differing pixels: ${d:-n/a}, outside the status line: ${rest:-n/a})"
	convert "$tmp/st.ppm" -scale 200% "$tmp/st.png" 2>/dev/null &&
		mkdir -p "$BUILD/test-logs" &&
		cp "$tmp/st.png" "$BUILD/test-logs/test-gvnc-status.png" &&
		note "status line: $BUILD/test-logs/test-gvnc-status.png"
	save_evidence
	finish
fi
if xdotool mousedown 1 && wait_status "$tmp/statusB.ppm" "$(deadline 4)" &&
	xdotool mouseup 1 &&
	wait_status "$tmp/statusB.ppm" "$(deadline 4)" same; then
	ok "a left click in the viewer shows in the status line and is released"
else
	xdotool mouseup 1 2>/dev/null
	not_ok "a left click in the viewer shows in the status line and is released (differing pixels: ${d:-n/a}, outside the status line: ${rest:-n/a})"
	save_evidence
fi
finish
