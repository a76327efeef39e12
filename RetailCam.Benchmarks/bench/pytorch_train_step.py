"""PyTorch eager baseline for `retailcam bench`: the training step RetailCam runs, on tensors in memory.

The network is written out here (no torchvision needed, Debian ships none): ImageNet-shaped ResNet18
trunk cut after layer3 (stages of 2, 2, 2 BasicBlocks), CAM head conv3x3 256->256 + ReLU -> global
average pooling -> linear; stem and layer1 frozen with their BatchNorms in eval mode, AdamW,
cross-entropy with label smoothing 0.1 - the defaults of RetailCam's Trainer. Weights are random:
speed does not depend on their values. Prints one JSON object on stdout.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity, inplace=True)


class CamNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
        self.head_conv = nn.Conv2d(256, 256, 3, 1, 1)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.relu(self.head_conv(x))
        return self.fc(x.mean((2, 3)))

    def freeze_early(self):
        for m in (self.conv1, self.bn1, self.layer1):
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        for m in (self.bn1, self.layer1):
            m.eval()
        return self


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    model = CamNet(args.classes)
    model.freeze_early()
    model.train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.05)
    images = torch.rand(args.batch, 3, args.size, args.size) * 255.0
    # Normalisation is part of RetailCam's network, so it is part of this step too.
    mean = torch.tensor([123.7, 116.3, 103.5]).view(1, 3, 1, 1)
    std = torch.tensor([58.4, 57.1, 57.4]).view(1, 3, 1, 1)
    labels = torch.randint(0, args.classes, (args.batch,))

    def step():
        logits = model((images - mean) / std)
        loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "torchVersion": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "size": args.size,
        "steps": args.steps,
        "seconds": seconds,
        "imagesPerSecond": args.batch * args.steps / seconds,
    }))


if __name__ == "__main__":
    main()
