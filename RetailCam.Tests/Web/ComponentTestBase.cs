using Bunit;
using MudBlazor.Services;

namespace RetailCam.Tests.Web;

/// <summary>bUnit with MudBlazor's services; MudBlazor's own JS calls are answered loosely, as no browser runs here.</summary>
public abstract class ComponentTestBase : BunitContext, IAsyncLifetime
{
    protected ComponentTestBase()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // MudBlazor's services are only asynchronously disposable, so the context must be disposed that way.
    Task IAsyncLifetime.DisposeAsync() => base.DisposeAsync().AsTask();
}
