using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>
/// Images (RGB float 0–255, [B,3,H,W]) with their class indices ([B], int64; −1 where a scene holds no
/// product) and, for scenes of several products, multi-hot targets ([B,C] float32), owned by the receiver.
/// </summary>
public sealed record LabelledBatch(Tensor Images, Tensor Labels, Tensor? Targets = null) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Targets?.Dispose();
    }
}

/// <summary>
/// Batches of one data split, epoch by epoch, yielded on the calling thread (TorchSharp dispose scopes
/// are per thread). The order of an epoch is a pure function of the seed and the epoch number, so a
/// resumed run can skip the batches it already trained on.
/// </summary>
public interface IEpochBatches
{
    int BatchesPerEpoch { get; }

    IEnumerable<LabelledBatch> Epoch(int epoch, int skipBatches, CancellationToken cancellationToken);
}

/// <summary>A fixed image whose class maps are filmed over training.</summary>
public sealed record ProbeImage(string Path, int Label, float[] Rgb, int Height, int Width);
