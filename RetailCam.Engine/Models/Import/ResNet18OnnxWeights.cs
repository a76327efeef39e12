using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// Loads the weights of a <see cref="ResNetOnnxGraph"/> into a <see cref="ResNet18"/>: the
/// graph's position of each conv and BatchNorm (stem, stage, block, first/second/projection) decides
/// the torchvision name it goes to.
/// </summary>
public static class ResNet18OnnxWeights
{
    /// <summary>Copies every initializer the graph uses into <paramref name="network"/>; returns the names mapped, ONNX → torchvision.</summary>
    public static IReadOnlyDictionary<string, string> LoadInto(ResNetOnnxGraph graph, ResNet18 network)
    {
        var counts = graph.StageBlockCounts;
        if (!counts.SequenceEqual(ResNet18.StageBlockCounts))
            throw graph.File.Malformed(
                $"its stages hold [{string.Join(", ", counts)}] blocks, expected [{string.Join(", ", ResNet18.StageBlockCounts)}]");

        var targets = network.state_dict();
        var mapping = new Dictionary<string, string>();

        void Assign(string onnxName, string targetName)
        {
            if (!targets.TryGetValue(targetName, out var target))
                throw new InvalidOperationException($"The network has no tensor {targetName}.");
            if (mapping.ContainsKey(onnxName))
                throw graph.File.Malformed($"initializer {onnxName} is used by more than one layer");
            using var scope = NewDisposeScope();
            var source = graph.File.ToTensor(graph.File.Initializers[onnxName]);
            if (!source.shape.SequenceEqual(target.shape))
                throw graph.File.Malformed(
                    $"initializer {onnxName} is [{string.Join(",", source.shape)}] but {targetName} needs [{string.Join(",", target.shape)}]");
            using (no_grad()) target.copy_(source);
            mapping[onnxName] = targetName;
        }

        void AssignPair(OnnxConvBatchNorm unit, string conv, string batchNorm)
        {
            Assign(unit.Conv.WeightName, $"{conv}.weight");
            Assign(unit.BatchNorm.ScaleName, $"{batchNorm}.weight");
            Assign(unit.BatchNorm.BiasName, $"{batchNorm}.bias");
            Assign(unit.BatchNorm.MeanName, $"{batchNorm}.running_mean");
            Assign(unit.BatchNorm.VarianceName, $"{batchNorm}.running_var");
        }

        AssignPair(graph.Stem, "conv1", "bn1");
        for (var s = 0; s < graph.Stages.Count; s++)
        {
            for (var b = 0; b < graph.Stages[s].Count; b++)
            {
                var block = graph.Stages[s][b];
                var prefix = $"layer{s + 1}.{b}";
                AssignPair(block.First, $"{prefix}.conv1", $"{prefix}.bn1");
                AssignPair(block.Second, $"{prefix}.conv2", $"{prefix}.bn2");
                if (block.Downsample is { } downsample)
                    AssignPair(downsample, $"{prefix}.downsample.0", $"{prefix}.downsample.1");
            }
        }

        var unusedInitializers = graph.File.Initializers.Keys.Except(mapping.Keys).ToList();
        if (unusedInitializers.Count > 0)
            throw graph.File.Malformed($"{unusedInitializers.Count} initializers belong to no layer we know ({string.Join(", ", unusedInitializers.Take(5))})");
        // num_batches_tracked only steers BatchNorm's momentum when momentum is None; the file has no such counter.
        var unfilled = targets.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Except(mapping.Values).ToList();
        if (unfilled.Count > 0)
            throw graph.File.Malformed($"it has no weights for {string.Join(", ", unfilled.Take(5))}");
        return mapping;
    }
}
