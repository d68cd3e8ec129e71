"""THA2's five official weight files (on no package index: users download them by hand and pass --weights DIR)."""

from vtube_plugin.nn.weights import WeightFile

DEMO_URL = "https://github.com/pkhungurn/talking-head-anime-2-demo"
WEIGHTS = {
    "eyebrow_decomposer": WeightFile("eyebrow_decomposer.pt"),
    "eyebrow_morphing_combiner": WeightFile("eyebrow_morphing_combiner.pt"),
    "face_morpher": WeightFile("face_morpher.pt"),
    "face_rotator": WeightFile("two_algo_face_rotator.pt"),
    "combiner": WeightFile("combiner.pt"),
}


def how_to_get() -> str:
    """Where users get THA2's weights and how they point us at them (ends every THA2 loading error)."""
    return (f"THA2's weights are not on any package index: download the five .pt files "
            f"({', '.join(w.name for w in WEIGHTS.values())}) from the THA2 demo's README ({DEMO_URL}), "
            f"put them in one folder and pass --model tha2 --weights DIR.")
