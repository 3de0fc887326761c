# install.cmake - run by `cmake --install` and by cpack (install(SCRIPT)):
# the systemd units, the sample configurations and the manual pages, with
# the paths of this installation written into them.
#
# The checked-in units and samples name the packaged paths (/usr/bin,
# /etc/branchline, /usr/share/doc/branchline).  The prefix is known only
# now (`cmake --install --prefix DIR`, cpack's /usr), so the paths are
# put in here rather than by configure_file.  The rule for the
# configuration directory is GNUInstallDirs': prefix /usr -> /etc,
# /opt/X -> /etc/opt/X, else PREFIX/etc.  DESTDIR is honoured (file(INSTALL)).
#
# Set by the install(CODE) before this script: BL_SRC (source tree),
# BL_BUILD (build tree, for scratch files), and GNUInstallDirs' BL_BINDIR,
# BL_SYSCONFDIR, BL_DOCDIR, BL_MANDIR (relative or absolute).

# bl_full(OUT DIR): DIR as an absolute path under the install prefix.
function(bl_full out dir)
	if(IS_ABSOLUTE "${dir}")
		set(${out} "${dir}" PARENT_SCOPE)
	else()
		set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
	endif()
endfunction()

bl_full(bl_bin "${BL_BINDIR}")
bl_full(bl_doc "${BL_DOCDIR}")
if(IS_ABSOLUTE "${BL_SYSCONFDIR}")
	set(bl_etc "${BL_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/usr/?$")
	set(bl_etc "/etc")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.*)")
	set(bl_etc "/etc/opt/${CMAKE_MATCH_1}")
else()
	set(bl_etc "${CMAKE_INSTALL_PREFIX}/${BL_SYSCONFDIR}")
endif()

# A scratch directory of our own: two installs may run at once.
string(RANDOM LENGTH 12 bl_rand)
set(bl_tmp "${BL_BUILD}/bl-install-${bl_rand}")
file(MAKE_DIRECTORY "${bl_tmp}")

# bl_fill(SRC NAME): SRC with this installation's paths, as bl_tmp/NAME.
function(bl_fill src name)
	file(READ "${src}" text)
	string(REPLACE "/usr/bin/branchline" "${bl_bin}/branchline" text "${text}")
	string(REPLACE "/etc/branchline/" "${bl_etc}/branchline/" text "${text}")
	string(REPLACE "/usr/share/doc/branchline/" "${bl_doc}/" text "${text}")
	file(WRITE "${bl_tmp}/${name}" "${text}")
endfunction()

function(bl_install file dest)
	file(INSTALL DESTINATION "${dest}" TYPE FILE
		PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
		FILES "${file}")
endfunction()

# bl_put(SRC NAME DEST): SRC with this installation's paths, installed
# as DEST/NAME.
function(bl_put src name dest)
	bl_fill("${src}" "${name}")
	bl_install("${bl_tmp}/${name}" "${dest}")
endfunction()

# bl_put_man(SRC NAME DEST): the same, gzipped as Debian wants manual
# pages (-n: no name or time inside, the same bytes every build).
function(bl_put_man src name dest)
	bl_fill("${src}" "${name}")
	execute_process(COMMAND gzip -9nf "${bl_tmp}/${name}"
		RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "gzip ${name} failed")
	endif()
	bl_install("${bl_tmp}/${name}.gz" "${dest}")
endfunction()

foreach(unit branchline-primary.service branchline-dist.service)
	bl_put("${BL_SRC}/deploy/systemd/${unit}" "${unit}"
		"${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endforeach()
foreach(conf primary dist)
	bl_put("${BL_SRC}/deploy/conf/${conf}.conf" "${conf}.conf.sample"
		"${bl_etc}/branchline")
endforeach()

# The manual pages, gzipped: the programs' (deploy/man), and the
# configuration files' made from the samples (deploy/man/conf2man.awk),
# dated as branchline(1).
bl_full(bl_man "${BL_MANDIR}")
foreach(page branchline.1 branchline-primary.8 branchline-dist.8)
	string(REGEX REPLACE ".*[.]([0-9])$" "\\1" sec "${page}")
	bl_put_man("${BL_SRC}/deploy/man/${page}" "${page}"
		"${bl_man}/man${sec}")
endforeach()
file(STRINGS "${BL_SRC}/deploy/man/branchline.1" bl_dd REGEX "^[.]Dd ")
string(REGEX REPLACE "^[.]Dd " "" bl_date "${bl_dd}")
foreach(conf primary dist)
	execute_process(COMMAND awk -v page=branchline-${conf}.conf
		-v prog=branchline-${conf} -v file=/etc/branchline/${conf}.conf
		-v "date=${bl_date}" -f "${BL_SRC}/deploy/man/conf2man.awk"
		"${BL_SRC}/deploy/conf/${conf}.conf"
		OUTPUT_FILE "${bl_tmp}/${conf}.5.made" RESULT_VARIABLE bl_rc)
	if(NOT bl_rc EQUAL 0)
		message(FATAL_ERROR
			"conf2man.awk failed on deploy/conf/${conf}.conf")
	endif()
	bl_put_man("${bl_tmp}/${conf}.5.made" "branchline-${conf}.conf.5"
		"${bl_man}/man5")
endforeach()
file(REMOVE_RECURSE "${bl_tmp}")
