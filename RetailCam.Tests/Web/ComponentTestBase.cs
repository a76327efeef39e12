using Bunit;
using MudBlazor.Services;
using RetailCam.Storage;
using RetailCam.Tests.Imaging;

namespace RetailCam.Tests.Web;

/// <summary>
/// bUnit with MudBlazor's services and the real storage (SQLite in a temporary data root, for the
/// components that list datasets or file photos); MudBlazor's own JS calls are answered loosely, as no browser runs here.
/// </summary>
public abstract class ComponentTestBase : BunitContext, IAsyncLifetime
{
    protected ComponentTestBase()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        DataRoot = TestImages.TempDirectory();
        Services.AddRetailCamStorage(DataRoot);
        // Components show trainer and admin actions by role: render them as a signed-in admin sees them.
        var signedIn = AddAuthorization();
        signedIn.SetAuthorized("component-tester");
        signedIn.SetRoles(RetailCam.Storage.Accounts.TeamRoles.Admin);
        signedIn.SetPolicies(RetailCam.Storage.Accounts.TeamRoles.Viewer, RetailCam.Storage.Accounts.TeamRoles.Trainer, RetailCam.Storage.Accounts.TeamRoles.Admin);
    }

    protected string DataRoot { get; }

    public async Task InitializeAsync() => await StorageInitializer.InitializeAsync(Services);

    // MudBlazor's services are only asynchronously disposable, so the context must be disposed that way.
    Task IAsyncLifetime.DisposeAsync() => base.DisposeAsync().AsTask();
}
