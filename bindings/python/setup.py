"""pip packaging of the `alltools` extension module: the CMake build does the work.

    /usr/bin/python3 -m pip install --no-build-isolation bindings/python        # offline: uses system setuptools
    ALLTOOLS_BUILD_DIR=build /usr/bin/python3 -m pip install --no-build-isolation bindings/python   # reuse a build

The module needs Debian's python3 (3.11) with python3-dev and pybind11-dev (scripts/install-deps.sh).
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.abspath(os.environ.get("ALLTOOLS_BUILD_DIR", os.path.join(ROOT, "build-python")))
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                                   "-DALLTOOLS_BUILD_TESTS=OFF", "-DALLTOOLS_BUILD_BENCH=OFF",
                                   f"-DPython_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", build, "--target", "alltools_python", "-j", str(os.cpu_count() or 2)])
        built = glob.glob(os.path.join(build, "python", "alltools*.so"))
        if not built:
            raise RuntimeError(f"no alltools*.so under {build}/python after the build")
        dest = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(built[0], dest)


setup(
    name="alltools",
    version="0.1.0",
    description="GLM-4 All Tools runtime: user functions (@alltools.function) and agents (alltools.Agent)",
    ext_modules=[Extension("alltools", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
    python_requires=">=3.9",
)
