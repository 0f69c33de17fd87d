"""The notebook API, as a user runs it: examples/notebook.ipynb executed headless by nbclient."""
import base64

import nbformat
import pytest
from nbclient import NotebookClient

from test_render import probe as probe_video
from render import ROOT


@pytest.mark.slow
def test_the_example_notebook_runs_and_shows_the_clip_inline(tmp_path):
    nb = nbformat.read(ROOT / "examples" / "notebook.ipynb", as_version=4)
    out = tmp_path / "notebook_neuron.mp4"
    for cell in nb.cells:  # the clip goes to a temporary folder, not the checkout's out/
        if cell.cell_type == "code":
            cell.source = cell.source.replace("'out/notebook_neuron.mp4'", repr(str(out)))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    grads = outputs[1][0]["data"]["text/plain"]
    assert grads == "{'w0': -0.2, 'x0': 0.39, 'w1': -0.39, 'x1': -0.59, 'w2': 0.2}"  # cs231n's numbers
    assert outputs[2][0]["data"]["text/plain"] == "True"
    html = outputs[3][0]["data"]["text/html"]
    assert html.startswith('<video controls') and 'type="video/mp4"' in html
    data = base64.b64decode(html.split("base64,")[1].split('"')[0])
    assert data == out.read_bytes()
    info = probe_video(out)
    assert (info["width"], info["height"]) == (426, 240) and info["frames"] > 10
    assert outputs[4][0]["text"].startswith("<config>: key 'expression': ")
