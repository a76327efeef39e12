using RetailCam.Engine.Data;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Data;

public class CategoryTreeTests
{
    private static readonly string[] Classes = ["Apparel/Bottoms/Trouser", "Apparel/Tops/Coat", "Apparel/Tops/T-shirt", "Footwear/Sandal", "Footwear"];

    [Fact]
    public void Nodes_parents_and_leaves_follow_the_paths()
    {
        var tree = new CategoryTree(Classes);
        Assert.Equal(Classes, tree.Classes);
        var tops = tree.Nodes[tree.FindNode("Apparel/Tops")!.Value];
        Assert.Equal("Tops", tops.Name);
        Assert.Equal("Apparel", tree.Nodes[tops.Parent].Path);
        Assert.Equal(2, tops.Depth);
        Assert.Equal(["Apparel/Tops/Coat", "Apparel/Tops/T-shirt"], tree.ChildrenOf(tops.Index).Select(i => tree.Nodes[i].Path));
        Assert.Equal(["Apparel", "Apparel/Tops", "Apparel/Tops/T-shirt"], tree.PathOf(2).Select(n => n.Path));
        // "Footwear" holds images itself and has a sub-folder: a class, but not a leaf.
        Assert.Equal(4, tree.Nodes[tree.FindNode("Footwear")!.Value].ClassIndex);
        Assert.Equal(["Apparel/Bottoms/Trouser", "Apparel/Tops/Coat", "Apparel/Tops/T-shirt", "Footwear/Sandal"], tree.Leaves.Select(n => n.Path));
    }

    [Fact]
    public void Probabilities_sum_up_the_tree_on_arrays_and_tensors_alike()
    {
        var tree = new CategoryTree(Classes);
        float[] p = [0.1f, 0.2f, 0.3f, 0.15f, 0.25f];
        var nodes = tree.SumUp(p);
        float At(string path) => nodes[tree.FindNode(path)!.Value];
        Assert.Equal(1f, nodes[tree.Root.Index], 5);
        Assert.Equal(0.6f, At("Apparel"), 5);
        Assert.Equal(0.5f, At("Apparel/Tops"), 5);
        Assert.Equal(0.4f, At("Footwear"), 5);
        Assert.Equal(0.15f, At("Footwear/Sandal"), 5);

        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using var scope = NewDisposeScope();
        var batch = tensor(p.Concat(p.Reverse()).ToArray(), [2, 5]);
        var summed = tree.SumUp(batch);
        Assert.Equal([2L, tree.Nodes.Count], summed.shape);
        Assert.Equal(nodes, summed[0].data<float>().ToArray());
        Assert.Equal(0.25f + 0.15f + 0.3f, summed[1, tree.FindNode("Apparel")!.Value].item<float>(), 5);
    }

    [Fact]
    public void Duplicate_or_empty_paths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new CategoryTree(["A/B", "A\\B"]));
        Assert.Throws<ArgumentException>(() => new CategoryTree(["A", "//"]));
        Assert.Throws<ArgumentException>(() => new CategoryTree(["A"]).SumUp(new float[2]));
    }
}
