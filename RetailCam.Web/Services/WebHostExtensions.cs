using MudBlazor.Services;

namespace RetailCam.Web.Services;

public static class WebHostExtensions
{
    public static IHostApplicationBuilder AddRetailCamWeb(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton<EngineStatusService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<EngineStatusService>());
        return builder;
    }
}
