using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// Loads the weights of a <see cref="ResNetOnnxGraph"/> into <see cref="ResNet18Features"/>: the
/// graph's position of each conv and BatchNorm (stem, stage, block, first/second/projection) decides
/// the torchvision name it goes to.
/// </summary>
public static class ResNet18OnnxWeights
{
    /// <summary>Copies every initializer the graph uses into <paramref name="network"/>; returns the names mapped, ONNX → torchvision.</summary>
    public static IReadOnlyDictionary<string, string> LoadInto(ResNetOnnxGraph graph, ResNet18Features network, string path)
    {
        var counts = graph.StageBlockCounts;
        if (!counts.SequenceEqual(ResNet18Layout.StageBlockCounts))
            throw new PretrainedModelFormatException(path,
                $"its stages hold [{string.Join(", ", counts)}] blocks, expected [{string.Join(", ", ResNet18Layout.StageBlockCounts)}]");

        var targets = network.state_dict();
        var mapping = new Dictionary<string, string>();

        void Assign(string onnxName, string targetName)
        {
            if (!targets.TryGetValue(targetName, out var target))
                throw new InvalidOperationException($"The network has no tensor {targetName}.");
            if (mapping.ContainsKey(onnxName))
                throw new PretrainedModelFormatException(path, $"initializer {onnxName} is used by more than one layer");
            using var scope = NewDisposeScope();
            var source = OnnxTensors.ToTensor(graph.Initializers[onnxName], path);
            if (!source.shape.SequenceEqual(target.shape))
                throw new PretrainedModelFormatException(path,
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

        var unusedInitializers = graph.Initializers.Keys.Except(mapping.Keys).ToList();
        if (unusedInitializers.Count > 0)
            throw new PretrainedModelFormatException(path, $"{unusedInitializers.Count} initializers belong to no layer we know ({string.Join(", ", unusedInitializers.Take(5))})");
        // num_batches_tracked only steers BatchNorm's momentum when momentum is None; the file has no such counter.
        var unfilled = targets.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Except(mapping.Values).ToList();
        if (unfilled.Count > 0)
            throw new PretrainedModelFormatException(path, $"it has no weights for {string.Join(", ", unfilled.Take(5))}");
        return mapping;
    }
}
