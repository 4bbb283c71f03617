"""A few hundred bad inputs through every command: no traceback, crash or hang, ever.

The quick version of ``python -m jazzgen.commands.fuzz`` (which runs 10,000 and more): the same fork
server and the same seeded inputs, without the ones that need Keras.  A failure
lists each input that broke the rule, with its command line.
"""
import pytest

from jazzgen.commands import fuzz


@pytest.mark.slow
def test_a_few_hundred_bad_inputs_give_only_ok_or_one_line_errors(gen_model, tmp_path):
    res = fuzz.fuzz(300, seed=0, jobs=1, keras=False, model=gen_model.path, work=tmp_path)
    c = res["counts"]
    assert res["n"] >= 250
    listing = "\n".join(f"{kind}: {label}: jazzgen.{cmd} {argv!r}: {line}"
                        for kind, label, cmd, argv, line in res["failures"])
    assert c["traceback"] == c["crash"] == c["hang"] == c["messy"] == c["memory"] == 0, listing
    assert c["ok"] > 0 and c["clean error"] > 0      # both kinds of input are in the mix
    assert fuzz.totals_line(res).startswith(f"fuzz: {res['n']} inputs: ok {c['ok']}, clean error ")


@pytest.mark.slow
def test_faults_a_hostile_folder_or_machine_brings_give_only_ok_or_one_line_errors(gen_model, tmp_path):
    """FIFOs and devices, names that are not UTF-8, corrupt cache packs, hostile JSON, zip bombs,
    a full disk and names too long (``fuzz_faults.py``): every child under 1 GB, none hangs."""
    res = fuzz.fuzz(150, seed=1, jobs=2, keras=False, model=gen_model.path, work=tmp_path, only="faults")
    c = res["counts"]
    listing = "\n".join(f"{kind}: {label}: jazzgen.{cmd} {argv!r}: {line}"
                        for kind, label, cmd, argv, line in res["failures"])
    assert sum(c[k] for k in ("messy", "traceback", "crash", "hang", "memory")) == 0, listing
    assert c["ok"] > 0 and c["clean error"] > 0 and 0 < res["peak_mb"] < fuzz.MEMORY_MB
