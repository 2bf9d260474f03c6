"""TorToiSe's discrete VAE: turns a normalised mel into one code (of 8192) per 4 mel frames.

The module tree mirrors the published dvae.pth exactly (tests/data/dvae_state_dict.tsv), so that file loads
with strict=True. Training only needs `codes()`: the encoder and the nearest-codebook lookup. The decoder
is here so the published weights load whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class UpsampledConv(nn.Module):
    """Nearest-neighbour upsampling then a convolution (the published DVAE has no transposed convs)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, scale: int = 2):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest"))


class Codebook(nn.Module):
    """Nearest-neighbour lookup into `embed` [dim, codes]; the EMA statistics are kept so the file loads whole."""

    def __init__(self, dim: int, num_codes: int):
        super().__init__()
        embed = torch.randn(dim, num_codes)
        self.register_buffer("embed", embed)
        self.register_buffer("cluster_size", torch.zeros(num_codes))
        self.register_buffer("embed_avg", embed.clone())

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., dim] -> index of the nearest code [...]."""
        flat = x.reshape(-1, x.shape[-1])
        # |x - e|^2 without the |x|^2 term, which is the same for every code
        dist = self.embed.pow(2).sum(0, keepdim=True) - 2 * flat @ self.embed
        return dist.argmin(dim=1).reshape(x.shape[:-1])

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [...] -> vectors [..., dim]."""
        return F.embedding(codes, self.embed.t())


class DiscreteVAE(nn.Module):
    """1-D discrete VAE over 80-channel mels; `num_layers` stride-2 convs, so one code per 2**num_layers frames."""

    def __init__(self, *, channels: int = 80, num_tokens: int = 8192, codebook_dim: int = 512,
                 hidden_dim: int = 512, num_layers: int = 2, num_resnet_blocks: int = 3, kernel_size: int = 3):
        super().__init__()
        self.channels = channels
        self.num_tokens = num_tokens
        self.reduction = 2 ** num_layers
        enc_chans = [channels] + [hidden_dim * 2 ** i for i in range(num_layers)]
        widest = enc_chans[-1]
        pad = (kernel_size - 1) // 2

        encoder: list[nn.Module] = [
            nn.Sequential(nn.Conv1d(c_in, c_out, kernel_size, stride=2, padding=pad), nn.ReLU())
            for c_in, c_out in zip(enc_chans[:-1], enc_chans[1:])
        ]
        encoder += [ResBlock(widest) for _ in range(num_resnet_blocks)]
        encoder.append(nn.Conv1d(widest, codebook_dim, 1))
        self.encoder = nn.Sequential(*encoder)

        dec_chans = [widest] + enc_chans[:0:-1]  # e.g. 1024 -> 1024 -> 512
        decoder: list[nn.Module] = [nn.Conv1d(codebook_dim, widest, 1)]
        decoder += [ResBlock(widest) for _ in range(num_resnet_blocks)]
        decoder += [
            nn.Sequential(UpsampledConv(c_in, c_out, kernel_size), nn.ReLU())
            for c_in, c_out in zip(dec_chans[:-1], dec_chans[1:])
        ]
        decoder.append(nn.Conv1d(dec_chans[-1], channels, 1))
        self.decoder = nn.Sequential(*decoder)

        self.codebook = Codebook(codebook_dim, num_tokens)

    @torch.no_grad()
    def codes(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, 80, frames] (normalised, see mel.normalized_mel) -> codes [B, frames // 4] in [0, num_tokens).

        The strided convs also emit a code for a trailing partial window; it is dropped, because a code
        stands for 4 whole frames (1024 samples) and the autoregressive model counts codes as samples // 1024.
        """
        latent = self.encoder(mel).permute(0, 2, 1)  # [B, T, codebook_dim]
        return self.codebook.nearest(latent)[:, : mel.shape[-1] // self.reduction]

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, T] -> mel [B, 80, T * 4]."""
        return self.decoder(self.codebook.lookup(codes).permute(0, 2, 1))
