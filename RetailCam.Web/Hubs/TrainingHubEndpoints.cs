using System.Text.Json.Serialization;

namespace RetailCam.Web.Hubs;

public static class TrainingHubEndpoints
{
    public const string Path = "/hubs/training";

    /// <summary>SignalR with the hub's JSON settings, the queries it answers and the forwarder that feeds it.</summary>
    public static IServiceCollection AddTrainingHub(this IServiceCollection services)
    {
        services.AddSignalR().AddJsonProtocol(json =>
            // A diverging run reports NaN losses; they must reach clients rather than fail the send.
            json.PayloadSerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals);
        services.AddSingleton<RunQueries>();
        services.AddHostedService<TrainingHubForwarder>();
        return services;
    }

    public static IEndpointRouteBuilder MapTrainingHub(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHub<TrainingHub>(Path).RequireAuthorization(RetailCam.Storage.Accounts.TeamRoles.Viewer);
        return endpoints;
    }
}
