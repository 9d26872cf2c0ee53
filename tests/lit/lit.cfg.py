# lit configuration: .bcl and .ir files with `# RUN:` lines, checked by FileCheck.
import os
import lit.formats

config.name = "bclc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".bcl", ".ir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.join(config.bclc_src_root, "tests", "lit")
config.test_exec_root = os.path.join(config.bclc_obj_root, "tests", "lit")

config.substitutions.append(("%bclc", os.path.join(config.bclc_obj_root, "bclc")))
config.substitutions.append(("%bcl-opt", os.path.join(config.bclc_obj_root, "bcl-opt")))
config.substitutions.append(("%examples", os.path.join(config.bclc_src_root, "examples")))
config.substitutions.append(("%python3", config.python3))
config.substitutions.append(("FileCheck", config.filecheck))
config.substitutions.append(("%not", config.python3 + " " + os.path.join(config.bclc_src_root, "tests", "lit", "not.py")))
config.environment["LC_ALL"] = "C"

# bclc compile exists when bclc was built with LLVM
import subprocess
try:
    _help = subprocess.run([os.path.join(config.bclc_obj_root, "bclc"), "--help"], capture_output=True, text=True).stdout
    if "\n  compile " in _help:
        config.available_features.add("bclc-compile")
except OSError:
    pass
