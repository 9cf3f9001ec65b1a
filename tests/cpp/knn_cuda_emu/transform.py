# Turns a CUDA kernel file (k-NN, int8 / int4) into plain C++ for the host emulation (see run.sh).
import re, sys
src, dst = sys.argv[1], sys.argv[2]
s = open(src).read()
s = s.replace("extern __shared__ __align__(16) unsigned char smem[];", "unsigned char* smem = emu_smem();")
pat = re.compile(r"([\w:]+(?:<[\w:]+>)?)<<<(.*?)>>>\((.*?)\);", re.S)
s, n = pat.subn(lambda m: f"emu_run([&] {{ {m.group(1)}({m.group(3)}); }}, {m.group(2)});", s)
print(src, "launches:", n, file=sys.stderr)
# Small tiles so that a few thousand rows exercise several tiles, parts and chunks.
for a, b in [("kBaseTile = 32768", "kBaseTile = 1000"), ("kScoreBytes = int64_t(128) << 20", "kScoreBytes = 160000"),
             ("kStateBytes = int64_t(96) << 20", "kStateBytes = 200000"), ("kMinPartColumns = 1024", "kMinPartColumns = 100"),
             ("kChunk = 65536", "kChunk = 300"), ("kWorkBytes = int64_t(192) << 20", "kWorkBytes = 200000"),
             ("kMaxParts = 64", "kMaxParts = 5"), ("kHalfQueryBytes = int64_t(16) << 20", "kHalfQueryBytes = 2000"),
             ("kTileBytes = int64_t(64) << 20", "kTileBytes = 4000")]:
    if a in s:
        s = s.replace(a, b)
open(dst, "w").write('#include "emu_run.h"\n' + s)
