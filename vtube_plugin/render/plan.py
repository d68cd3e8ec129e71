"""A rendering plan: for each per-frame stage, the precision it computes in and the form of its upsampling.

`--precision auto` on a CPU takes the plan measured fastest on this machine (render/tuning.py); a named
precision fixes every stage's precision, and each stage then takes the form that runs it fastest by rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtube_plugin.nn.encoder_decoder import UPSAMPLING_FORMS

FRAME_STAGES = ("morph_eyebrows", "morph_face", "rotate", "edit")
# "folded": each nearest 2x upsampling folded into the depthwise conv after it (nn/blocks.upsample_then), the
# fastest in fp32; "plain": the resize and concatenation as written, which ONNX Runtime runs best; "split": the
# depthwise transposed convs split into their four phases and the concatenations into two pointwise convs, which
# bf16 kernels run best (nn/encoder_decoder.py UPSAMPLING_FORMS).
FORMS = UPSAMPLING_FORMS


@dataclass(frozen=True)
class StageChoice:
    precision: str  # fp32, bf16 or fp16
    form: str = "folded"  # one of FORMS

    @property
    def label(self) -> str:
        return self.precision if self.form == "folded" else f"{self.precision} {self.form}"

    def as_json(self) -> dict[str, str]:
        return {"precision": self.precision, "form": self.form}


Plan = dict[str, StageChoice]  # one StageChoice per name in FRAME_STAGES


def rule_form(engine: str, precision: str, device_type: str) -> str:
    """The form a stage takes when no measurement says otherwise: the folded upsampling was measured fastest
    only in fp32 on CPUs; bf16 runs the split one fastest (OpenVINO and torch alike), ONNX Runtime and torch on
    CUDA the plain one."""
    if precision == "bf16":
        return "split"
    if engine == "onnxruntime" or (engine == "torch" and device_type == "cuda"):
        return "plain"
    return "folded"


def uniform_plan(engine: str, precision: str, device_type: str) -> Plan:
    return dict.fromkeys(FRAME_STAGES, StageChoice(precision, rule_form(engine, precision, device_type)))


def plan_from_json(data: object) -> Plan | None:
    """A stored plan back, or None when it is not one (a hand-edited or older file)."""
    if not isinstance(data, dict) or set(data) != set(FRAME_STAGES):
        return None
    plan = {}
    for stage in FRAME_STAGES:
        item = data[stage]
        if not (isinstance(item, dict) and item.get("precision") in ("fp32", "bf16", "fp16")
                and item.get("form") in FORMS):
            return None
        plan[stage] = StageChoice(item["precision"], item["form"])
    return plan


def plan_precisions(plan: Plan) -> dict[str, str]:
    return {stage: choice.precision for stage, choice in plan.items()}


def describe_plan(plan: Plan | dict[str, str]) -> str:
    """'fp32' when every stage is the same, else 'morph_eyebrows fp32, ..., edit bf16 plain'."""
    labels = {stage: c.label if isinstance(c, StageChoice) else c for stage, c in plan.items()}
    values = set(labels.values())
    if len(values) == 1:
        return values.pop()
    return ", ".join(f"{stage} {label}" for stage, label in labels.items())
