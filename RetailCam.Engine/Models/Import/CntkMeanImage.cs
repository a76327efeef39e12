using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// Reads the mean image out of ResNetPreprocess.onnx, whose graph is Split (planar R, G, B) →
/// Concat (B, G, R) → Sub(mean image). The channel order is checked from the graph rather than assumed.
/// </summary>
public static class CntkMeanImage
{
    /// <summary>The mean image, [3,H,W] in BGR order, in 0–255.</summary>
    public static Tensor Read(string path)
    {
        var file = OnnxModelFile.Read(path);
        var nodes = file.Nodes;
        var sub = nodes.SingleOrDefault(n => n.OpType == "Sub") ?? throw file.Malformed("it has no single Sub node");
        var concat = nodes.SingleOrDefault(n => n.Output.Contains(sub.Input[0]) && n.OpType == "Concat")
            ?? throw file.Malformed("the Sub node does not subtract from a channel Concat");
        var split = nodes.SingleOrDefault(n => n.OpType == "Split")
            ?? throw file.Malformed("it has no channel Split");
        if (concat.Input.Count != 3 || split.Output.Count != 3)
            throw file.Malformed("Split and Concat do not handle three channels");
        var order = concat.Input.Select(name => split.Output.IndexOf(name)).ToArray();
        if (!order.SequenceEqual([2, 1, 0]))
            throw file.Malformed($"the channels are reordered as [{string.Join(",", order)}], expected RGB → BGR [2,1,0]");

        if (!file.Initializers.TryGetValue(sub.Input[1], out var mean))
            throw file.Malformed($"the subtrahend {sub.Input[1]} is not a stored constant");
        if (mean.Dims.Count != 4 || mean.Dims[0] != 1 || mean.Dims[1] != 3)
            throw file.Malformed($"the mean image is [{string.Join(",", mean.Dims)}], expected [1,3,H,W]");
        using var scope = NewDisposeScope();
        return file.ToTensor(mean).squeeze(0).MoveToOuterDisposeScope();
    }
}
