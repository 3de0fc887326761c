# Turn a file into a C array: cmake -DIN=file -DOUT=file.c -DSYM=name -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(([^,]*,){16})" "\\1\n\t" body "${body}")
file(WRITE "${OUT}" "/* Generated from ${IN} by embed.cmake; do not edit. */\n#include <stddef.h>\nextern const unsigned char ${SYM}[];\nextern const size_t ${SYM}_len;\nconst unsigned char ${SYM}[] = {\n\t${body}0x00};\nconst size_t ${SYM}_len = ${len};\n")
