using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Data;

/// <summary>One node of the category tree: a folder level such as "Apparel" or "Apparel/Tops".</summary>
public sealed record CategoryNode(int Index, string Path, string Name, int Parent, int Depth, int? ClassIndex)
{
    public bool IsRoot => Parent < 0;
    public bool IsClass => ClassIndex.HasValue;
}

/// <summary>
/// The category paths of a dataset as a tree. The model predicts over classes (the folders that
/// hold images, in class order); every ancestor's confidence is the sum of the probabilities of
/// the classes below it, so each level of a path gets a confidence. A folder that holds images
/// and also has sub-folders is both a class and an inner node; its own probability counts for it.
/// </summary>
public sealed class CategoryTree
{
    private readonly CategoryNode[] nodes;
    private readonly int[] classNode;
    private readonly int[][] children;
    private readonly float[] membership; // [classes, nodes]: 1 where the class lies under (or is) the node

    public IReadOnlyList<CategoryNode> Nodes => nodes;

    /// <summary>Category paths of the classes, in class order.</summary>
    public IReadOnlyList<string> Classes { get; }

    public int ClassCount => Classes.Count;

    /// <summary>The unnamed root, index 0.</summary>
    public CategoryNode Root => nodes[0];

    public CategoryTree(IReadOnlyList<string> classPaths)
    {
        ArgumentNullException.ThrowIfNull(classPaths);
        if (classPaths.Count == 0)
            throw new ArgumentException("A category tree needs at least one class.", nameof(classPaths));
        var normalised = classPaths.Select(Normalise).ToArray();
        var duplicate = normalised.GroupBy(p => p, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Category '{duplicate.Key}' appears twice.", nameof(classPaths));
        Classes = normalised;

        var list = new List<CategoryNode> { new(0, "", "", -1, 0, null) };
        var byPath = new Dictionary<string, int>(StringComparer.Ordinal) { [""] = 0 };
        int NodeFor(string path)
        {
            if (byPath.TryGetValue(path, out var existing)) return existing;
            var cut = path.LastIndexOf('/');
            var parent = cut < 0 ? 0 : NodeFor(path[..cut]);
            var node = new CategoryNode(list.Count, path, cut < 0 ? path : path[(cut + 1)..], parent, list[parent].Depth + 1, null);
            list.Add(node);
            byPath[path] = node.Index;
            return node.Index;
        }
        classNode = new int[normalised.Length];
        for (var c = 0; c < normalised.Length; c++)
        {
            var index = NodeFor(normalised[c]);
            list[index] = list[index] with { ClassIndex = c };
            classNode[c] = index;
        }
        nodes = list.ToArray();
        var byParent = nodes.Where(n => !n.IsRoot).ToLookup(n => n.Parent, n => n.Index);
        children = nodes.Select(n => byParent[n.Index].ToArray()).ToArray();
        membership = new float[normalised.Length * nodes.Length];
        for (var c = 0; c < normalised.Length; c++)
            for (var n = classNode[c]; n >= 0; n = nodes[n].Parent)
                membership[c * nodes.Length + n] = 1f;
    }

    public static string Normalise(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        // Folder names are kept exactly (no trimming): they must match the catalogue's paths.
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            throw new ArgumentException("A category path cannot be empty.", nameof(path));
        return string.Join('/', parts);
    }

    /// <summary>Indices of a node's children, in the order their paths first appear in the class list.</summary>
    public IReadOnlyList<int> ChildrenOf(int nodeIndex) => children[nodeIndex];

    /// <summary>Nodes without children, in class order (the usual leaves of a category tree).</summary>
    public IEnumerable<CategoryNode> Leaves => classNode.Select(n => nodes[n]).Where(n => children[n.Index].Length == 0);

    public CategoryNode NodeOfClass(int classIndex) => nodes[classNode[classIndex]];

    public int? FindNode(string path)
    {
        var normalised = Normalise(path);
        var found = Array.FindIndex(nodes, n => n.Path == normalised);
        return found < 0 ? null : found;
    }

    /// <summary>The nodes from the top level down to the class's own node (the root excluded).</summary>
    public IReadOnlyList<CategoryNode> PathOf(int classIndex)
    {
        var path = new List<CategoryNode>();
        for (var n = classNode[classIndex]; n > 0; n = nodes[n].Parent)
            path.Add(nodes[n]);
        path.Reverse();
        return path;
    }

    /// <summary>Probability of every node (index = node index) from the class probabilities.</summary>
    public float[] SumUp(ReadOnlySpan<float> classProbabilities)
    {
        if (classProbabilities.Length != ClassCount)
            throw new ArgumentException($"Expected {ClassCount} class probabilities, got {classProbabilities.Length}.", nameof(classProbabilities));
        var result = new float[nodes.Length];
        for (var c = 0; c < classProbabilities.Length; c++)
            for (var n = classNode[c]; n >= 0; n = nodes[n].Parent)
                result[n] += classProbabilities[c];
        return result;
    }

    /// <summary>[B, classes] probabilities → [B, nodes], one matrix product.</summary>
    public Tensor SumUp(Tensor classProbabilities)
    {
        ArgumentNullException.ThrowIfNull(classProbabilities);
        if (classProbabilities.dim() != 2 || classProbabilities.shape[1] != ClassCount)
            throw new ArgumentException($"Expected [B,{ClassCount}], got [{string.Join(",", classProbabilities.shape)}].", nameof(classProbabilities));
        using var scope = NewDisposeScope();
        var matrix = torch.tensor(membership, [ClassCount, nodes.Length], classProbabilities.dtype, classProbabilities.device);
        return classProbabilities.matmul(matrix).MoveToOuterDisposeScope();
    }
}
