namespace RetailCam.FunctionalTests;

/// <summary>
/// All browser and REST tests share one app and one browser: WebApplicationFactory hooks the host
/// build through a process-wide listener, so several factories starting at once interfere.
/// </summary>
[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<WebAppFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "web app";
}
