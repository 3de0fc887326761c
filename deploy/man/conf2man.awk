# conf2man.awk - a sample configuration (deploy/conf/*.conf) as a
# section 5 manual page (mdoc), so the page and the sample cannot
# disagree: the sample's comments are the text, its key lines the items.
#
#   awk -v page=branchline-dist.conf -v prog=branchline-dist \
#       -v file=/etc/branchline/dist.conf -v date="November 22, 2026" \
#       -f conf2man.awk deploy/conf/dist.conf
#
# The sample's shape: a header comment (the page's DESCRIPTION, indented
# lines shown literally), then sections "# --- TITLE ---", each of blocks
# separated by blank lines: comment lines describing the key lines that
# follow them ("#key = default", or "key = value" for a value to set).
# A comment block without keys is a paragraph of its own.

function esc(s) {
	gsub(/\\/, "\\\\e", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# Start the key list of the current section if it is not open.
function list_open() {
	if (!inlist) {
		print ".Bl -tag -width Ds"
		inlist = 1
	}
}

function list_close() {
	if (inlist) {
		print ".El"
		inlist = 0
	}
}

# The text of n comment lines: paragraphs at "#" alone, indented
# lines (commands) as literal displays.
function text(lines, n,    i, lit) {
	lit = 0
	for (i = 1; i <= n; i++) {
		if (lines[i] ~ /^  /) {
			if (!lit) {
				print ".Bd -literal -offset indent"
				lit = 1
			}
			print esc(substr(lines[i], 3))
			continue
		}
		if (lit) {
			print ".Ed"
			lit = 0
		}
		if (lines[i] == "")
			print ".Pp"
		else
			print esc(lines[i])
	}
	if (lit)
		print ".Ed"
}

# The pending block: its keys as items with the comment as their body,
# or the comment as a paragraph.
function flush(    i) {
	if (nkeys > 0) {
		list_open()
		for (i = 1; i <= nkeys; i++)
			printf ".It Cm %s No = Ar \"%s\"\n", keys[i], vals[i]
		text(desc, ndesc)
	} else if (ndesc > 0) {
		list_close()
		print ".Pp"
		text(desc, ndesc)
	}
	nkeys = ndesc = 0
}

BEGIN {
	if (page == "" || prog == "" || file == "" || date == "") {
		print "conf2man.awk: set page, prog, file and date" > "/dev/stderr"
		exit 2
	}
	print ".\\\" Made from the sample configuration by deploy/man/conf2man.awk."
	print ".Dd " date
	print ".Dt " toupper(page) " 5"
	print ".Os Branchline"
	print ".Sh NAME"
	print ".Nm " page
	print ".Nd " prog " configuration file"
	print ".Sh SYNOPSIS"
	print ".Nm " file
	print ".Sh DESCRIPTION"
	header = 1
}

# The first line names the program; the page says so already.
NR == 1 { next }

/^# --- .* -+$/ {
	flush()
	list_close()
	title = $0
	sub(/^# --- /, "", title)
	sub(/ -+$/, "", title)
	if (header) {
		print ".Sh KEYS"
		header = 0
	}
	print ".Ss " esc(toupper(substr(title, 1, 1)) substr(title, 2))
	next
}

/^#?[a-z_]+ = / {
	line = $0
	sub(/^#/, "", line)
	k = line
	sub(/ = .*/, "", k)
	v = line
	sub(/^[a-z_]+ = /, "", v)
	gsub(/"/, "\\(dq", v)
	keys[++nkeys] = k
	vals[nkeys] = v
	next
}

/^#/ {
	# A comment after keys starts the next block.
	if (nkeys > 0)
		flush()
	line = $0
	sub(/^# ?/, "", line)
	desc[++ndesc] = line
	next
}

/^[ \t]*$/ {
	flush()
	next
}

{
	print "conf2man.awk: line " NR ": not a comment, key or blank" > "/dev/stderr"
	bad = 1
	exit 1
}

END {
	if (bad)
		exit 1
	flush()
	list_close()
	print ".Sh FILES"
	print ".Bl -tag -width Ds -compact"
	print ".It Pa " file
	print "read by"
	print ".Xr " prog " 8"
	print "at start; check it with"
	print ".Nm " prog " Fl n Fl -config Ar file ."
	print ".El"
	print ".Sh SEE ALSO"
	print ".Xr branchline 1 ,"
	print ".Xr " prog " 8"
}
