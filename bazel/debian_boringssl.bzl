"""A repository rule for Debian's BoringSSL (android-libboringssl-dev).

Debian installs the libraries under /usr/lib/<multiarch triplet>/android, so
the path differs between amd64 (x86_64-linux-gnu), arm64 (aarch64-linux-gnu)
and every other Debian architecture. The triplet is asked of the machine's own
compiler, the same answer dpkg gives, instead of being written into a BUILD file.
"""

# Where Debian's uname-style architecture names map to multiarch triplets, for
# a machine whose compiler cannot say (-print-multiarch is a Debian gcc/clang
# feature). Only the Debian release architectures that ship the package.
_TRIPLET_BY_ARCH = {
    "amd64": "x86_64-linux-gnu",
    "x86_64": "x86_64-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "i386": "i386-linux-gnu",
    "i686": "i386-linux-gnu",
    "armv7l": "arm-linux-gnueabihf",
    "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "mips64el": "mips64el-linux-gnuabi64",
}

def _multiarch_triplet(rctx):
    for cmd in [["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"], ["cc", "-print-multiarch"]]:
        if rctx.which(cmd[0]) == None:
            continue
        result = rctx.execute(cmd)
        triplet = result.stdout.strip()
        if result.return_code == 0 and triplet:
            return triplet
    return _TRIPLET_BY_ARCH.get(rctx.os.arch, "")

def _debian_boringssl_impl(rctx):
    triplet = _multiarch_triplet(rctx)
    if not triplet:
        fail("boringssl: cannot tell this machine's Debian multiarch triplet " +
             "(no dpkg-architecture, no gcc -print-multiarch, unknown arch '%s')" % rctx.os.arch)
    libdir = "%s/%s/android" % (rctx.attr.lib_root, triplet)
    for lib in ["libssl.so", "libcrypto.so"]:
        if not rctx.path(libdir + "/" + lib).exists:
            fail("boringssl: %s/%s not found: install android-libboringssl-dev" % (libdir, lib))
    headers = rctx.path(rctx.attr.include_dir + "/openssl")
    if not headers.exists:
        fail("boringssl: %s not found: install android-libboringssl-dev" % headers)
    rctx.symlink(headers, "openssl")
    rctx.template("BUILD.bazel", rctx.attr.build_file_template, {"%{libdir}": libdir})
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

debian_boringssl = repository_rule(
    implementation = _debian_boringssl_impl,
    local = True,
    attrs = {
        "build_file_template": attr.label(allow_single_file = True, mandatory = True),
        "include_dir": attr.string(default = "/usr/include/android"),
        "lib_root": attr.string(default = "/usr/lib"),
    },
    doc = "Debian's android-libboringssl-dev, with the library path for this machine's architecture.",
)
