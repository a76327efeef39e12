using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>Which class to explain, per image of a batch. The score a gradient method differentiates is that class's logit.</summary>
public sealed record ClassTarget(long[] ClassIndices)
{
    public static ClassTarget Same(long classIndex, int batchSize) => new(Enumerable.Repeat(classIndex, batchSize).ToArray());

    /// <summary>Sum over the batch of each image's target logit (images are independent, so one backward serves all).</summary>
    public Tensor Score(Tensor logits)
    {
        if (logits.shape[0] != ClassIndices.Length)
            throw new ArgumentException($"Target names {ClassIndices.Length} classes for a batch of {logits.shape[0]}.");
        using var index = tensor(ClassIndices, device: logits.device).unsqueeze(1);
        return logits.gather(1, index).sum();
    }
}
