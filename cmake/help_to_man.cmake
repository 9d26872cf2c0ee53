# Writes a man page (OUT) from a tool's --help text, so the page cannot drift from
# the tool: TOOL --help, and with SUBCOMMANDS=ON each command listed under
# "Commands:" with its own --help. Run with cmake -P (see bcl_package.cmake).
function(roff_escape text out)
  string(REPLACE "\\" "\\e" text "${text}")
  # a line starting with . or ' would be a roff request
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${TOOL} --help OUTPUT_VARIABLE main_help ERROR_VARIABLE main_err
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TOOL} --help failed (${rc}): ${main_err}")
endif()
string(REGEX MATCH "^[^\n]*" summary "${main_help}")
roff_escape("${main_help}" main_esc)
string(TOUPPER "${NAME}" upper)
set(page ".TH ${upper} 1 \"\" \"${NAME} ${VERSION}\" \"User Commands\"\n")
string(APPEND page ".SH NAME\n${NAME} \\- ${summary}\n.SH DESCRIPTION\n.nf\n${main_esc}\n.fi\n")

if(SUBCOMMANDS)
  # "  check     check a model file ..." lines after "Commands:"
  string(REGEX MATCH "Commands:\n(  [a-z][^\n]*\n)+" block "${main_help}")
  string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" cmds "${block}")
  string(APPEND page ".SH COMMANDS\n")
  foreach(c ${cmds})
    string(STRIP "${c}" c)
    execute_process(COMMAND ${TOOL} ${c} --help OUTPUT_VARIABLE help ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${TOOL} ${c} --help failed (${rc}): ${err}")
    endif()
    roff_escape("${help}" esc)
    string(APPEND page ".SS ${NAME} ${c}\n.nf\n${esc}\n.fi\n")
  endforeach()
endif()
string(APPEND page ".SH SEE ALSO\nThe documentation in share/doc/bclc (README.md, docs/*.md).\n")
file(WRITE ${OUT} "${page}")
