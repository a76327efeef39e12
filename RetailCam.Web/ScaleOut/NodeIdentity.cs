namespace RetailCam.Web.ScaleOut;

/// <summary>
/// This process's name among the nodes and workers of a cluster (RetailCam:NodeName, else the machine
/// name): web nodes answer it in the X-RetailCam-Node header, workers name their Hangfire server with it.
/// </summary>
public sealed class NodeIdentity(string name)
{
    public const string Header = "X-RetailCam-Node";

    public string Name { get; } = name;

    public static NodeIdentity From(IConfiguration configuration) =>
        new(configuration["RetailCam:NodeName"] is { Length: > 0 } name ? name : Environment.MachineName);
}
