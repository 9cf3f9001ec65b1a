"""Long ops release the GIL, so other Python threads run while they compute (issue 10: where,
clamp and concatenate did not). Decisive rather than timed: with a switch interval of 1000 s a
thread gives up the GIL only where C code releases it, so the main thread can see a worker
*inside* an op only if that op released the GIL. A pure-Python control shows the test fails
when the GIL is held.
"""
import json
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""\
    import json, sys, threading, time
    import aimass as am
    x = am.randn(1_000_000); y = am.randn(1_000_000); c = x > 0
    ops = {"where": lambda: am.where(c, x, y), "clamp": lambda: am.clamp(x, -0.5, 0.5),
           "Tensor.clamp": lambda: x.clamp(-0.5, 0.5), "concatenate": lambda: am.concatenate([x, y]),
           "stack": lambda: am.stack([x, y]), "add": lambda: x + y,
           "pure Python (control)": lambda: sum(range(200_000))}
    sys.setswitchinterval(1000.0)
    seen = {}
    for name, op in ops.items():
        state = {"inside": False, "done": False, "seen": False}
        def worker():
            for _ in range(20):
                state["inside"] = True
                op()
                state["inside"] = False
            state["done"] = True
        t = threading.Thread(target=worker)
        t.start()
        while not state["done"]:
            state["seen"] |= state["inside"]
            time.sleep(0.0005)  # hands the GIL back to the worker
        t.join()
        seen[name] = state["seen"]
    print(json.dumps(seen))
    """)


def test_long_ops_release_the_gil():
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen.pop("pure Python (control)") is False, "the probe cannot tell a held GIL from a released one"
    assert all(seen.values()), f"ops that kept the GIL: {[k for k, v in seen.items() if not v]}"
