import numpy as np
import pytest
import torch

pytest.importorskip("onnx", reason="the ONNX export tests need the 'export' extra: pip install 'integral-pose[export]'")
pytest.importorskip("onnxruntime", reason="the ONNX export tests need onnxruntime: pip install 'integral-pose[export]'")

from integral_pose.export import DecodedModel, export_onnx, run_onnx
from integral_pose.methods import Method
from integral_pose.models import build_model

# Every decoder exports but DARK (its 2x2 solve has no ONNX form; see docs/inference.md).
EXPORTABLE = {
    "detection-quarter": Method(kind="detection", decoder="quarter"),
    "integral": Method(kind="integral", beta=2.0),
    "compensated-global": Method(kind="compensated", activation="relu"),
    "compensated-local": Method(kind="compensated", window=2),
    "combined-average": Method(kind="combined", window=2, fusion="average", decoder="quarter"),
}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("small", 17, init_std=0.5).eval()  # a large init gives distinct peaks (no argmax ties)


@pytest.mark.parametrize("name", list(EXPORTABLE))
def test_onnx_matches_pytorch_with_a_dynamic_batch(model, name, tmp_path):
    method = EXPORTABLE[name]
    path = export_onnx(model, method, tmp_path / f"{name}.onnx", input_size=(64, 48))  # traced with a batch of 2
    images = torch.randint(0, 256, (3, 3, 64, 48), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    keypoints, scores = run_onnx(path, images)
    with torch.no_grad():
        expected, expected_scores = DecodedModel(model, method)(images)
    assert keypoints.shape == (3, 17, 2) and scores.shape == (3, 17)
    np.testing.assert_allclose(keypoints, expected.numpy(), atol=1e-4, rtol=0)  # input pixels
    np.testing.assert_allclose(scores, expected_scores.numpy(), atol=1e-5, rtol=1e-5)
    one, _ = run_onnx(path, images[:1])
    np.testing.assert_allclose(one, expected.numpy()[:1], atol=1e-4, rtol=0)


def test_decoded_model_returns_input_pixels(model):
    method = EXPORTABLE["detection-quarter"]
    images = torch.zeros(1, 3, 64, 48, dtype=torch.uint8)
    with torch.no_grad():
        keypoints, _ = DecodedModel(model, method)(images)
        coords, _ = method.decode(model(images))
    np.testing.assert_allclose(keypoints.numpy(), (4 * coords + 1.5).numpy())  # x_in = s x_hm + (s - 1) / 2


def test_export_rejects_a_wrong_example(model, tmp_path):
    with pytest.raises(ValueError, match="example"):
        export_onnx(model, EXPORTABLE["detection-quarter"], tmp_path / "m.onnx", input_size=(64, 48),
                    example=torch.zeros(1, 3, 32, 48, dtype=torch.uint8))
