#!/bin/sh
# The in-sandbox half of the files API: one POSIX sh script (run as `sh -c SCRIPT hangar-files
# OP ARGS…` through spawnInSandbox, so it runs in the sandbox's mount namespace and root as uid
# 1000) built on GNU coreutils, findutils and tar, which every Hangar template has (Debian base
# or the host's /usr). Paths only ever travel as arguments, never through the shell's parser;
# listings are NUL-separated, so any byte but NUL is fine in a name.
#
# Policy: env HF_RA/HF_RD (read allow/deny) and HF_WA/HF_WD (write allow/deny), colon lists of
# roots. Every path is resolved with `realpath -m` inside the sandbox first (`rf` follows the
# last component, `rn` resolves only the parent) and the resolved path is checked.
#
# Errors: the script prints `\nHANGAR_ERR <CODE> <message>` on stderr and exits 99; code AUTO
# means "classify the tool's own message above" (LC_ALL=C, so the strerror texts are stable).
#
# Relies on GNU `head -c N` reading exactly N bytes from a pipe (it never reads ahead), which
# write_many uses to cut files out of one stdin stream.
set -f
umask 022
LC_ALL=C; export LC_ALL
IFS=$(printf ' \t\n_'); IFS=${IFS%_}
E() { printf '\nHANGAR_ERR %s %s\n' "$1" "$2" >&2; exit 99; }
under() { _u=${2%/}; case $1 in "$_u"|"$_u"/*) return 0;; esac; return 1; }
inlist() {
	_o=$IFS; IFS=:
	for _x in $2; do if under "$1" "$_x"; then IFS=$_o; return 0; fi; done
	IFS=$_o; return 1
}
allowed() {
	case $2 in
	r) inlist "$1" "$HF_RA" && ! inlist "$1" "$HF_RD" ;;
	w) inlist "$1" "$HF_WA" && ! inlist "$1" "$HF_WD" ;;
	*) return 1 ;;
	esac
}
# rf PATH: R = PATH with every symlink resolved (missing components allowed)
rf() {
	R=$(realpath -m -- "$1" && printf x) || E AUTO "cannot resolve $1"
	R=${R%?x}
}
# rn PATH: R = PATH with its parent resolved, the last component kept as is
rn() {
	case $1 in /) R=/; return ;; esac
	_b=${1##*/}; _d=${1%/*}
	rf "${_d:-/}"
	case $R in /) R=/$_b ;; *) R=$R/$_b ;; esac
}
need() { allowed "$R" "$1" || E FORBIDDEN_PATH "$2 resolves to $R, outside the allowed directories"; }
ex() { [ -e "$1" ] || [ -L "$1" ]; }
isroot() { [ "$1" = / ] && return 0; inlist "$1" "$HF_WA" || return 1; _o=$IFS; IFS=:; for _x in $HF_WA; do if [ "${_x%/}" = "$1" ]; then IFS=$_o; return 0; fi; done; IFS=$_o; return 1; }
# nf RESOLVED REQUESTED: RESOLVED does not exist: NOT_FOUND, or FORBIDDEN_PATH when an ancestor
# exists but cannot be searched
nf() {
	_a=$1
	while [ "$_a" != / ]; do
		_a=${_a%/*}; [ -n "$_a" ] || _a=/
		if [ -e "$_a" ]; then
			if [ -d "$_a" ] && ! [ -x "$_a" ]; then E FORBIDDEN_PATH "permission denied: $2"; fi
			break
		fi
	done
	E NOT_FOUND "no such file or directory: $2"
}
# pdok RESOLVED REQUESTED: the parent can hold a new file (nearest existing ancestor is a
# writable, searchable directory)
pdok() {
	_a=$1
	while [ "$_a" != / ]; do
		_a=${_a%/*}; [ -n "$_a" ] || _a=/
		if ex "$_a"; then
			[ -d "$_a" ] || E NOT_A_DIRECTORY "a parent of $2 is not a directory"
			{ [ -w "$_a" ] && [ -x "$_a" ]; } || E FORBIDDEN_PATH "permission denied: $2"
			return 0
		fi
	done
}
nodeny() { _o=$IFS; IFS=:; for _x in $HF_RD; do if under "$_x" "$1"; then IFS=$_o; E FORBIDDEN_PATH "$2 contains $_x"; fi; done; IFS=$_o; }
parent() { P=${1%/*}; P=${P:-/}; }
FMT='%y\0%Y\0%s\0%m\0%T@\0%l\0'

op=$1; shift
case $op in
list) # PATH
	rf "$1"; need r "$1"
	ex "$R" || nf "$R" "$1"
	[ -d "$R" ] || E NOT_A_DIRECTORY "not a directory: $1"
	[ -r "$R" ] && [ -x "$R" ] || E FORBIDDEN_PATH "permission denied: $1"
	exec find "$R" -mindepth 1 -maxdepth 1 -printf "$FMT"'%f\0'
	;;
stat) # PATH
	rn "$1"; need r "$1"
	ex "$R" || nf "$R" "$1"
	exec find "$R" -maxdepth 0 -printf "$FMT"
	;;
tree) # PATH DEPTH
	rf "$1"; need r "$1"
	ex "$R" || nf "$R" "$1"
	find "$R" -maxdepth 0 -printf "$FMT"'\0' || E AUTO "cannot stat $1"
	[ "$2" -gt 0 ] && [ -d "$R" ] && find "$R" -mindepth 1 -maxdepth "$2" -printf "$FMT"'%P\0' 2>/dev/null
	exit 0
	;;
mkdir) # PATH PARENTS MODE
	rf "$1"; need w "$1"
	if [ "$2" = 1 ]; then
		[ -d "$R" ] && { printf 'EXISTS\0'; exit 0; }
		mkdir -p -m "$3" -- "$R" || E AUTO "mkdir $1"
	else
		mkdir -m "$3" -- "$R" || E AUTO "mkdir $1"
	fi
	printf 'CREATED\0'
	;;
move) # FROM TO OVERWRITE
	rn "$1"; need w "$1"; F=$R
	rn "$2"; need w "$2"; T=$R
	ex "$F" || nf "$F" "$1"
	isroot "$F" && E FORBIDDEN_PATH "cannot move $1"
	[ "$F" = "$T" ] && E INVALID_PARAMS "source and destination are the same"
	under "$T" "$F" && E INVALID_PARAMS "cannot move $1 into itself"
	if ex "$T"; then
		[ "$3" = 1 ] || E ALREADY_EXISTS "destination exists: $2"
		isroot "$T" && E FORBIDDEN_PATH "cannot replace $2"
		under "$F" "$T" && E INVALID_PARAMS "cannot replace a directory with its own content"
		if [ -d "$T" ] && ! [ -L "$T" ]; then rm -rf -- "$T" || E AUTO "cannot replace $2"; fi
	fi
	parent "$T"; pdok "$T" "$2"; mkdir -p -- "$P" || E AUTO "mkdir"
	if [ "$3" = 1 ]; then mv -f -T -- "$F" "$T" || E AUTO "move"
	else mv -n -T -- "$F" "$T" || E AUTO "move"; ex "$F" && E ALREADY_EXISTS "destination exists: $2"
	fi
	exit 0
	;;
copy) # FROM TO OVERWRITE RECURSIVE TOKEN
	rf "$1"; need r "$1"; F=$R
	rn "$2"; need w "$2"; T=$R
	ex "$F" || nf "$F" "$1"
	[ -r "$F" ] || E FORBIDDEN_PATH "permission denied: $1"
	if [ -d "$F" ] && [ "$4" != 1 ]; then E IS_A_DIRECTORY "$1 is a directory: copy it with recursive"; fi
	[ "$F" = "$T" ] && E INVALID_PARAMS "source and destination are the same"
	under "$T" "$F" && E INVALID_PARAMS "cannot copy $1 into itself"
	if ex "$T"; then
		[ "$3" = 1 ] || E ALREADY_EXISTS "destination exists: $2"
		isroot "$T" && E FORBIDDEN_PATH "cannot replace $2"
		under "$F" "$T" && E INVALID_PARAMS "cannot replace a directory with its own content"
		if [ -d "$T" ] && ! [ -L "$T" ]; then rm -rf -- "$T" || E AUTO "cannot replace $2"; fi
	fi
	parent "$T"; pdok "$T" "$2"; mkdir -p -- "$P" || E AUTO "mkdir"
	if [ -d "$F" ]; then
		cp -R -P -T --preserve=mode,timestamps -- "$F" "$T" || E AUTO "copy"
	else
		tmp=$P/.hangar-tmp-$5
		cp -P --preserve=mode,timestamps -- "$F" "$tmp" || { rm -f -- "$tmp"; E AUTO "copy"; }
		mv -f -T -- "$tmp" "$T" || { rm -f -- "$tmp"; E AUTO "copy"; }
	fi
	exit 0
	;;
chmod) # PATH MODE
	rf "$1"; need w "$1"
	ex "$R" || nf "$R" "$1"
	chmod -- "$2" "$R" || E AUTO "chmod $1"
	exec find "$R" -maxdepth 0 -printf "$FMT"
	;;
delete) # PATH RECURSIVE
	rn "$1"; need w "$1"
	isroot "$R" && E FORBIDDEN_PATH "cannot delete $1"
	ex "$R" || nf "$R" "$1"
	if [ -d "$R" ] && ! [ -L "$R" ]; then
		if [ "$2" = 1 ]; then rm -rf -- "$R" || E AUTO "delete $1"
		else rmdir -- "$R" || E AUTO "delete $1"
		fi
	else
		rm -f -- "$R" || E AUTO "delete $1"
	fi
	exit 0
	;;
read) # PATH
	rf "$1"; need r "$1"
	ex "$R" || nf "$R" "$1"
	[ -d "$R" ] && E IS_A_DIRECTORY "$1 is a directory"
	[ -f "$R" ] || E INVALID_PARAMS "$1 is not a regular file"
	[ -r "$R" ] || E FORBIDDEN_PATH "permission denied: $1"
	s=$(find "$R" -maxdepth 0 -printf %s) || E AUTO "stat $1"
	printf 'OK\0%s\0' "$s"
	exec cat -- "$R"
	;;
write) # PATH MODE TOKEN
	rf "$1"; need w "$1"
	[ -d "$R" ] && E IS_A_DIRECTORY "$1 is a directory"
	parent "$R"; pdok "$R" "$1"
	mkdir -p -- "$P" || E AUTO "mkdir"
	tmp=$P/.hangar-tmp-$3
	( set -C; : > "$tmp" ) || E AUTO "create $1"
	printf 'READY\0%s\0' "$tmp"
	cat > "$tmp" || { rm -f -- "$tmp"; E AUTO "write $1"; }
	if [ -n "$2" ]; then chmod -- "$2" "$tmp" || { rm -f -- "$tmp"; E AUTO "chmod $1"; }
	elif [ -e "$R" ]; then chmod --reference="$R" -- "$tmp" 2>/dev/null
	fi
	mv -f -T -- "$tmp" "$R" || { rm -f -- "$tmp"; E AUTO "write $1"; }
	printf 'DONE\0'
	;;
cleanup) # TMP
	case ${1##*/} in .hangar-tmp-*) rm -f -- "$1" ;; esac
	exit 0
	;;
wmany) # TOKEN (PATH SIZE)…   file contents back to back on stdin
	tok=$1; shift
	# 1. resolve and check every target; report every failure
	bad=0; i=0; n=0
	for a do
		i=$((i + 1)); [ $((i % 2)) = 1 ] || continue
		n=$((n + 1))
		r=$( (
			rf "$a"; need w "$a"
			[ -d "$R" ] && E IS_A_DIRECTORY "$a is a directory"
			pdok "$R" "$a"
			exit 0
		) 2>&1 >/dev/null ) || { bad=1; printf 'F\0%s\0%s\0' "$n" "$r"; }
	done
	[ "$bad" = 0 ] || exit 98
	# 2. stage every file in a temp beside its target
	i=0; n=0; fail=0
	for a do
		i=$((i + 1))
		if [ $((i % 2)) = 1 ]; then p=$a; continue; fi
		n=$((n + 1))
		rf "$p"; parent "$R"; tmp=$P/.hangar-tmp-$tok-$n
		if ! r=$( { mkdir -p -- "$P" && ( set -C; : > "$tmp" ) && head -c "$a" > "$tmp" && [ "$(find "$tmp" -maxdepth 0 -printf %s)" = "$a" ]; } 2>&1 ); then
			printf 'F\0%s\0%s\0' "$n" "$r"; fail=$n; break
		fi
	done
	if [ "$fail" != 0 ]; then
		i=0; n=0
		for a do
			i=$((i + 1)); [ $((i % 2)) = 1 ] || continue
			n=$((n + 1)); [ "$n" -le "$fail" ] || break
			rf "$a"; parent "$R"; rm -f -- "$P/.hangar-tmp-$tok-$n"
		done
		exit 98
	fi
	# 3. rename into place
	i=0; n=0
	for a do
		i=$((i + 1)); [ $((i % 2)) = 1 ] || continue
		n=$((n + 1))
		rf "$a"; parent "$R"; tmp=$P/.hangar-tmp-$tok-$n
		[ -e "$R" ] && chmod --reference="$R" -- "$tmp" 2>/dev/null
		if r=$(mv -f -T -- "$tmp" "$R" 2>&1); then printf 'W\0%s\0' "$n"
		else printf 'F\0%s\0%s\0' "$n" "$r"; rm -f -- "$tmp"
		fi
	done
	exit 0
	;;
tar) # PATH…
	n=$#
	for p do
		rf "$p"; need r "$p"
		ex "$R" || nf "$R" "$p"
		nodeny "$R" "$p"
		set -- "$@" "$R"
	done
	shift "$n"
	if [ $# = 1 ]; then
		parent "$1"; b=${1##*/}
		[ -n "$b" ] || E FORBIDDEN_PATH "cannot archive /"
		printf 'OK\0'
		exec tar -cf - --format=gnu -C "$P" -- "$b"
	fi
	for p do set -- "$@" "${p#/}"; done
	shift "$n"
	printf 'OK\0'
	exec tar -cf - --format=gnu -C / -- "$@"
	;;
watch) # PATH RECURSIVE SECONDS
	rf "$1"; need r "$1"
	ex "$R" || nf "$R" "$1"
	nodeny "$R" "$1"
	md=; [ "$2" = 1 ] || md='-maxdepth 1'
	printf 'OK\0'
	while :; do
		find "$R" -mindepth 1 $md -printf '%y\0%s\0%T@\0%P\0' 2>/dev/null
		printf 'END\0\0\0\0' || exit 0
		sleep "$3" || exit 0
	done
	;;
*) E INVALID_PARAMS "unknown operation $op" ;;
esac
