using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;

namespace RetailCam.Web.Components.Compare;

/// <summary>What varies from tile to tile on the Compare page.</summary>
public enum CompareMode
{
    Classes,
    Models,
    Methods,
}

/// <summary>What one tile shows: the photo's map of one class, drawn by one model with one method.</summary>
public sealed record TileSpec(string ModelId, int ClassIndex, string Category, ClassMapMethod Method);

/// <summary>Turns the user's choices into tiles; the same class keeps its name across models whose category order differs.</summary>
public static class ComparePlan
{

    /// <summary>Categories every given model knows, in the first model's order; a class can only be compared across models by name.</summary>
    public static IReadOnlyList<string> SharedCategories(IReadOnlyList<ModelInfo> models)
    {
        if (models.Count == 0) return [];
        var shared = models.Skip(1).Aggregate(new HashSet<string>(models[0].Categories, StringComparer.Ordinal), (set, m) =>
        {
            set.IntersectWith(m.Categories);
            return set;
        });
        return models[0].Categories.Where(shared.Contains).ToList();
    }

    public static IReadOnlyList<TileSpec> Tiles(CompareMode mode, ModelInfo reference, IReadOnlyList<int> classes,
        IReadOnlyList<ModelInfo> models, string? category, ClassMapMethod method) => mode switch
    {
        CompareMode.Classes => classes.Distinct().Where(c => c >= 0 && c < reference.Categories.Count)
            .Select(c => new TileSpec(reference.Id, c, reference.Categories[c], method)).ToList(),
        CompareMode.Models => category is null ? [] : models.DistinctBy(m => m.Id)
            .Select(m => (Model: m, Index: IndexOf(m.Categories, category)))
            .Where(t => t.Index >= 0)
            .Select(t => new TileSpec(t.Model.Id, t.Index, category, method)).ToList(),
        CompareMode.Methods => category is not null && IndexOf(reference.Categories, category) is >= 0 and var index
            ? ClassMapMethods.All.Select(m => new TileSpec(reference.Id, index, category, m)).ToList()
            : [],
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    private static int IndexOf(IReadOnlyList<string> categories, string category)
    {
        for (var i = 0; i < categories.Count; i++)
            if (string.Equals(categories[i], category, StringComparison.Ordinal)) return i;
        return -1;
    }
}
