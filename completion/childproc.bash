# bash completion for childproc-spawn, -exec, -execfile and -fork.
# The options come from the command's own --help (its option table), so
# they never drift; values are offered for the options that take words.

_childproc_options()
{
	# "--name=" for an option that takes a value, "--name" otherwise.
	"$1" --help 2>/dev/null |
	    sed -n 's/^  \(-[A-Za-z0-9], \|    \)\(--[a-z0-9][a-z0-9-]*\)\(\[\{0,1\}=\{0,1\}\).*/\2\3/p' |
	    sed 's/\[=$//'
}

_childproc()
{
	local cmd=$1 cword=$COMP_CWORD
	local cur=${COMP_WORDS[cword]} prev=${COMP_WORDS[cword-1]}
	local opt= val i w takes operand=0 words

	# "--opt=value" comes as "--opt" "=" "value" (= breaks words): the value.
	if [[ $cur == = ]]; then
		opt=$prev val=
	elif [[ $prev == = ]] && ((cword > 1)); then
		opt=${COMP_WORDS[cword-2]} val=$cur
	elif [[ $prev == -[Ctks] ]]; then
		opt=$prev val=$cur
	fi
	if [[ -n $opt ]]; then
		case $opt in
		--stdin) words="pipe inherit null" ;;
		--stdio) words="pipe inherit ignore" ;;
		--encoding) words="utf8 buffer utf16le latin1 ascii base64 base64url hex" ;;
		--serialization) words="json advanced" ;;
		-s|--kill-signal)
			words="$(compgen -A signal) $(compgen -A signal | sed s/^SIG//)" ;;
		--end) words="wait replies idle: disconnect" ;;
		--dispatch) words="round-robin broadcast" ;;
		--restart) words="no on-failure always" ;;
		--balance) words="shared reuseport" ;;
		--sched) words="rr none reuseport" ;;
		--master-policy) words="batch keep" ;;
		--status-format) words="text json" ;;
		--uid) COMPREPLY=($(compgen -u -- "$val")); return ;;
		--gid) COMPREPLY=($(compgen -g -- "$val")); return ;;
		-C|--cwd) COMPREPLY=($(compgen -d -- "$val")); return ;;
		--input-file|--exec-path|--control|--ctl|--shell)
			COMPREPLY=($(compgen -f -- "$val")); return ;;
		*) return ;;
		esac
		COMPREPLY=($(compgen -W "$words" -- "$val"))
		return
	fi

	# Options stop at the first operand (or --), as the commands' getopt does.
	takes=" $(_childproc_options "$cmd" | sed -n 's/=$//p' | tr '\n' ' ') "
	for ((i = 1; i < cword; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) operand=$i; break ;;
		=) ((i++)) ;;
		--*) [[ $takes == *" $w "* && ${COMP_WORDS[i+1]} != = ]] && ((i++)) ;;
		-[Cetksun]) ((i++)) ;;
		-*) ;;
		*) operand=$i; break ;;
		esac
	done
	if ((!operand)) && [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_childproc_options "$cmd")" -- "$cur"))
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] &&
		    compopt -o nospace 2>/dev/null
		return
	fi
	case ${cmd##*/} in
	childproc-spawn|childproc-execfile)
		# The program, then its arguments (files).
		if ((!operand || operand == cword)); then
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	childproc-exec) COMPREPLY=($(compgen -c -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

complete -F _childproc childproc-spawn childproc-exec childproc-execfile \
    childproc-fork
