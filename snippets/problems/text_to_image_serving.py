"""The serving arithmetic of a latent diffusion model: FLOPs per image, GPUs, queues.

Compute per image is counted from published architectures, layer by layer: a
diffusion transformer with cross-attention (PixArt-alpha's shape), the Stable
Diffusion VAE decoder, and the T5 v1.1 XXL text encoder. GPU peaks come from
the shared datasheet copy (``snippets.concepts.generative_ai``) and hourly prices
from ``snippets.framework.cost``; the utilisation is an assumption. A pooled
queue of GPUs is an M/M/c queue (Erlang C), which the shared M/M/1 helper does
not cover.

The experiments and the printed estimate are in ``text_to_image.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snippets.common.estimation import positive
from snippets.concepts.generative_ai import ModelConfig


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


# --8<-- [start:denoiser]
@dataclass(frozen=True)
class DiffusionTransformer:
    """A DiT-style denoiser over patches of the VAE latent."""

    name: str
    blocks: int
    width: int  # hidden size d
    patch: int  # latent cells per patch side
    vae_factor: int = 8  # pixels per latent cell side
    text_tokens: int = 0  # cross-attended text tokens; 0 for a class-conditional DiT
    mlp_ratio: int = 4
    modulation_per_block: bool = False  # DiT's adaLN-Zero MLP (6 d^2 per block)

    def tokens(self, pixels: int) -> int:
        """Image tokens: (pixels / vae_factor / patch)^2."""
        side, rest = divmod(_count("pixels", pixels), self.vae_factor * self.patch)
        if rest:
            raise ValueError(
                f"pixels must be a multiple of {self.vae_factor * self.patch}"
            )
        return side * side

    def block_weights(self) -> int:
        """Weights of the transformer blocks (biases and norms left out)."""
        d = self.width
        attention = 4 * d * d * (2 if self.text_tokens else 1)  # self + cross
        modulation = 6 * d * d if self.modulation_per_block else 0
        return self.blocks * (attention + 2 * self.mlp_ratio * d * d + modulation)

    def macs(self, pixels: int) -> float:
        """Multiply-adds of one forward pass for one image."""
        n, d, m = self.tokens(pixels), self.width, self.text_tokens
        per_block = n * (4 + 2 * self.mlp_ratio) * d * d  # QKV, output, MLP
        per_block += 2 * n * n * d  # attention scores and weighted sum
        if m:  # cross-attention: Q and output on image tokens, K and V on text
            per_block += 2 * n * d * d + 2 * m * d * d + 2 * n * m * d
        if self.modulation_per_block:
            per_block += 6 * d * d
        return float(self.blocks * per_block)
        # --8<-- [end:denoiser]


# Shapes from the authors' code: DiT-XL/2 (Peebles and Xie, 2023), and PixArt-alpha
# XL/2 (Chen et al., 2023; PixArtMS_XL_2: depth 28, hidden 1152, patch 2), which
# cross-attends to 120 T5 tokens and shares one modulation MLP across blocks.
DIT_XL_2 = DiffusionTransformer("DiT-XL/2", 28, 1152, 2, modulation_per_block=True)
PIXART_ALPHA = DiffusionTransformer("PixArt-alpha XL/2", 28, 1152, 2, text_tokens=120)
# T5 v1.1 XXL (config.json: 24 layers, d_model 4096, 64 heads of 64, d_ff 10240,
# gated GELU): its encoder blocks have the Llama block's shape (gated MLP, two
# norms); only the encoder runs, and no output head.
T5_XXL = ModelConfig("T5 v1.1 XXL encoder", 24, 4096, 64, 64, 10240, 32128)


def text_encoder_macs(config: ModelConfig, tokens: int) -> float:
    """One prompt through an encoder: a multiply-add per block weight per token,
    plus attention over the prompt."""
    n = _count("tokens", tokens)
    return float(
        config.layer_parameters * n + 2 * config.layers * n * n * config.hidden
    )


def vae_decoder_layers(
    latent_side: int,
    channels: tuple[int, ...] = (128, 256, 512, 512),
    resnets_per_block: int = 3,
    latent_channels: int = 4,
) -> list[tuple[str, int, int, int, int]]:
    """The Stable Diffusion VAE decoder as (kind, c_in, c_out, kernel, side) layers.

    Defaults are the SD / SDXL VAE config (block_out_channels 128-256-512-512,
    layers_per_block 2, so 3 resnets per up block). Every up block but the last
    ends in a 2x upsample and a 3x3 conv at the new side.
    """
    side, top = _count("latent_side", latent_side), channels[-1]
    layers = [("conv", latent_channels, latent_channels, 1, side)]  # post-quant
    layers.append(("conv", latent_channels, top, 3, side))

    def resnet(c_in: int, c_out: int, at: int) -> None:
        layers.extend([("conv", c_in, c_out, 3, at), ("conv", c_out, c_out, 3, at)])
        layers.extend([("norm", c_in, c_in, 0, at), ("norm", c_out, c_out, 0, at)])
        if c_in != c_out:
            layers.append(("conv", c_in, c_out, 1, at))  # shortcut

    resnet(top, top, side)
    layers.extend([("attention", top, top, 0, side), ("norm", top, top, 0, side)])
    resnet(top, top, side)
    previous = top
    for i, c in enumerate(reversed(channels)):
        for j in range(resnets_per_block):
            resnet(previous if j == 0 else c, c, side)
        previous = c
        if i < len(channels) - 1:
            side *= 2
            layers.append(("conv", c, c, 3, side))
    layers.extend(
        [("norm", previous, previous, 0, side), ("conv", previous, 3, 3, side)]
    )
    return layers


def layer_cost(layers: list[tuple[str, int, int, int, int]]) -> tuple[float, int]:
    """(multiply-adds, weights) of a list of decoder layers."""
    macs, weights = 0.0, 0
    for kind, c_in, c_out, kernel, side in layers:
        pixels = side * side
        if kind == "conv":
            macs += kernel * kernel * c_in * c_out * pixels
            weights += kernel * kernel * c_in * c_out + c_out
        elif kind == "attention":  # one head over every latent cell
            macs += 4 * c_in * c_in * pixels + 2 * pixels * pixels * c_in
            weights += 4 * (c_in * c_in + c_in)
        else:  # group norm: a scale and a shift per channel
            weights += 2 * c_in
    return macs, weights


def image_tflop(
    model: DiffusionTransformer,
    pixels: int,
    steps: int,
    guided: bool,
    images_per_prompt: int = 4,
) -> dict[str, float]:
    """TFLOPs per image by stage (2 FLOPs per multiply-add)."""
    passes = _count("steps", steps) * (2 if guided else 1)  # CFG: two passes a step
    decoder_macs, _ = layer_cost(vae_decoder_layers(pixels // model.vae_factor))
    text = text_encoder_macs(T5_XXL, model.text_tokens or 1)
    per_image = {
        "denoiser": 2 * passes * model.macs(pixels) / 1e12,
        "vae decoder": 2 * decoder_macs / 1e12,
        "text encoder": 2 * text / _count("images", images_per_prompt) / 1e12,
    }
    per_image["total"] = sum(per_image.values())
    return per_image


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that a request waits in an M/M/c queue (Erlang's C formula).

    offered_load is arrival rate x mean service time, in busy servers; it must
    be below `servers` for the queue to be stable.
    """
    c, a = _count("servers", servers), positive("offered_load", offered_load)
    if a >= c:
        raise ValueError(f"offered load {a} must be below {c} servers")
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c (no overflow)
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / (c - a)  # a^c / c! x c / (c - a), from a^(c-1) / (c-1)!
    return last / (total + last)


def wait_quantile(
    servers: int, utilisation: float, service_s: float, q: float = 0.99
) -> float:
    """Seconds a request waits for a free GPU at quantile q: P(W > w) is
    C(c, a) exp(-(c - a) w / service), so w = 0 when C(c, a) <= 1 - q."""
    if not 0 < utilisation < 1 or not 0 < q < 1:
        raise ValueError("utilisation and q must be in (0, 1)")
    c, s = _count("servers", servers), positive("service_s", service_s)
    waits = erlang_c(c, utilisation * c)
    if waits <= 1 - q:
        return 0.0
    return math.log(waits / (1 - q)) * s / (c * (1 - utilisation))


def tiered_cost(quantity: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """Price of `quantity` under a volume schedule of (tier size, price a unit)
    pairs, cheapest last; the last tier's size may be math.inf."""
    left = positive("quantity", quantity)
    if not tiers or tiers[-1][0] != math.inf:
        raise ValueError("tiers must end with an unbounded (math.inf) tier")
    total = 0.0
    for size, price in tiers:
        if size <= 0 or price < 0:
            raise ValueError(f"a tier needs a positive size and a price >= 0: {size}")
        used = min(left, size)
        total += used * price
        left -= used
        if left <= 0:
            break
    return total
