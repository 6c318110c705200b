"""Back-of-envelope GPU memory of a QLoRA run, per component, from the model's shapes.

Users size a job before renting a GPU: this counts the parameters of a Llama-shaped model
and of its LoRA adapters exactly (the unit test checks the counts against a real peft model)
and turns them into bytes under QLoRA's storage choices: NF4 double-quantized linear weights,
16-bit embeddings/head/norms, fp32 adapters, fp32 gradients and two fp32 AdamW moments for
every trainable parameter. Activations are an estimate: the tensors one decoder layer saves
for backward (bf16), all layers' inputs when gradient checkpointing is on, and fp32 logits
plus their softmax for the loss. Not counted: CUDA context, allocator fragmentation, and
temporary dequantized weights (one layer at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

# NF4 with double quantization: 4 bits a weight, one 8-bit absmax per 64-weight block, and
# one fp32 constant per 256 blocks for those absmaxes (Dettmers et al. 2023).
NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256)
ADAPTER_BYTES = 4  # peft keeps adapters in fp32 on a 4-bit base
ADAM_STATES = 2  # exp_avg and exp_avg_sq, fp32 (paged AdamW pages them, same size)


@dataclass(frozen=True)
class LlamaShape:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int

    @property
    def kv_size(self) -> int:
        return self.hidden_size // self.num_attention_heads * self.num_key_value_heads

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer of one decoder block: q, k, v, o, gate, up, down."""
        h, i, kv = self.hidden_size, self.intermediate_size, self.kv_size
        return [(h, h), (h, kv), (h, kv), (h, h), (h, i), (h, i), (i, h)]


LLAMA2_7B = LlamaShape(32_000, 4096, 11_008, 32, 32, 32)


@dataclass(frozen=True)
class QLoraPlan:
    shape: LlamaShape
    lora_rank: int = 128
    lora_on_embeddings: bool = True  # LoRA on embed_tokens and lm_head too
    seq_len: int = 2048
    micro_batch: int = 1
    gradient_checkpointing: bool = True
    embed_bytes: int = 2  # bf16 embeddings, head and norms

    def linear_params(self) -> int:
        per_block = sum(a * b for a, b in self.shape.linear_shapes())
        return per_block * self.shape.num_hidden_layers

    def embedding_params(self) -> int:
        return 2 * self.shape.vocab_size * self.shape.hidden_size  # untied embed + head

    def norm_params(self) -> int:
        return (2 * self.shape.num_hidden_layers + 1) * self.shape.hidden_size

    def base_params(self) -> int:
        return self.linear_params() + self.embedding_params() + self.norm_params()

    def lora_params(self) -> int:
        r, s = self.lora_rank, self.shape
        blocks = sum(r * (a + b) for a, b in s.linear_shapes()) * s.num_hidden_layers
        embeddings = 2 * r * (s.vocab_size + s.hidden_size) if self.lora_on_embeddings else 0
        return blocks + embeddings

    def trainable_fraction(self) -> float:
        """Trainable share of base + LoRA parameters (how the paper and peft report it)."""
        return self.lora_params() / (self.base_params() + self.lora_params())

    def activation_bytes(self) -> int:
        s, tokens = self.shape, self.seq_len * self.micro_batch
        h, i, r = s.hidden_size, s.intermediate_size, self.lora_rank
        # one block: norms in/out, q k v (+ roped q k), attention out, residual, MLP's four
        # intermediate tensors, the dropout outputs feeding the 7 LoRA A's and their outputs
        layer = tokens * 2 * (17 * h + 5 * i + 7 * r)
        stored = tokens * 2 * h * s.num_hidden_layers if self.gradient_checkpointing else 0
        layers = layer if self.gradient_checkpointing else layer * s.num_hidden_layers
        logits = tokens * s.vocab_size * 4 * 2  # fp32 logits and their softmax for the loss
        return stored + layers + logits

    def components(self) -> dict[str, int]:
        """Bytes per component (what the table prints)."""
        trainable = self.lora_params()
        return {
            "base linear weights (NF4 + double-quant constants)": round(
                self.linear_params() * NF4_BITS / 8
            ),
            "embed_tokens + lm_head + norms (bf16, frozen)": (
                (self.embedding_params() + self.norm_params()) * self.embed_bytes
            ),
            "LoRA adapters (fp32)": trainable * ADAPTER_BYTES,
            "gradients (fp32, trainable only)": trainable * 4,
            "paged AdamW states (2 x fp32)": trainable * 4 * ADAM_STATES,
            "activations (estimate)": self.activation_bytes(),
        }


def plan_rows(plan: QLoraPlan) -> list[tuple[str, str, str]]:
    """(component, GiB, share) rows with a total, for printing."""
    parts = plan.components()
    total = sum(parts.values())
    rows = [(k, f"{v / 2**30:.2f}", f"{100 * v / total:.1f}%") for k, v in parts.items()]
    rows.append(("total", f"{total / 2**30:.2f}", "100%"))
    return rows
