namespace RetailCam.Engine.Cam;

/// <summary>
/// Every class-map method the product offers, in the order pickers show them. A new method is its own
/// file and one line here; the CLI, the pages, the REST API and the history all read this list.
/// </summary>
public static class ClassMapMethods
{
    public static ClassMapMethod Cam { get; } = new CamMethod();
    public static ClassMapMethod GradCam { get; } = new GradCamMethod();
    public static ClassMapMethod GradCamPlusPlus { get; } = new GradCamPlusPlusMethod();

    public static IReadOnlyList<ClassMapMethod> All { get; } = [Cam, GradCam, GradCamPlusPlus];

    /// <summary>The method used when none is asked for: the cheapest, and the one boxes are found on.</summary>
    public static ClassMapMethod Default => Cam;

    public static IReadOnlyList<string> Names { get; } = All.Select(m => m.Name).ToList();

    /// <summary>The method of that name or alias (case-insensitive), or null.</summary>
    public static ClassMapMethod? Find(string? name) => name is null ? null : All.FirstOrDefault(m =>
        string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase) || m.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));

    public static ClassMapMethod Parse(string name) =>
        Find(name) ?? throw new ArgumentException($"Unknown class-map method '{name}': use {string.Join(", ", Names)}.", nameof(name));
}
