using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace RetailCam.Web.Security;

/// <summary>Section RetailCam:Limits — how much one member, and everyone together, may ask of prediction.</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "RetailCam:Limits";

    /// <summary>Photos in one predict request; more get 413.</summary>
    [Range(1, 1000)] public int PredictFilesPerRequest { get; set; } = 50;

    /// <summary>Predict requests one member (or one address, before sign-in) may send per second, sustained.</summary>
    [Range(1, 10_000)] public int PredictRequestsPerSecond { get; set; } = 50;

    /// <summary>How many above that rate one member may send at once before being told to wait (429).</summary>
    [Range(1, 100_000)] public int PredictBurst { get; set; } = 200;

    /// <summary>Predict requests served at once across the team; the model runs them in micro-batches.</summary>
    [Range(1, 1000)] public int PredictConcurrency { get; set; } = 8;

    /// <summary>Requests waiting for a free slot; beyond them the server is busy (503).</summary>
    [Range(0, 100_000)] public int PredictQueue { get; set; } = 64;
}

/// <summary>
/// Rate limiting on prediction: a token bucket per member answers 429, the shared concurrency limit
/// with its bounded queue answers 503; both say when to come back (Retry-After) in problem details.
/// </summary>
public static class RequestLimits
{
    public const string PredictPolicy = "predict";
    private const string PredictConcurrency = "predict-concurrency";

    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(rate =>
        {
            rate.AddPolicy(PredictPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
                var who = context.Name() ?? context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                return RateLimitPartition.GetTokenBucketLimiter(who, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.PredictBurst,
                    TokensPerPeriod = limits.PredictRequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            // Everyone's predictions share the CPU or GPU: one limit for all, with a bounded queue.
            rate.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!IsPredict(context.Request)) return RateLimitPartition.GetNoLimiter("other");
                var limits = context.RequestServices.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
                return RateLimitPartition.GetConcurrencyLimiter(PredictConcurrency, _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = limits.PredictConcurrency,
                    QueueLimit = limits.PredictQueue,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                });
            });
            rate.OnRejected = async (rejected, cancellationToken) =>
            {
                var perMember = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter);
                var seconds = perMember ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var (status, title, detail) = perMember
                    ? (StatusCodes.Status429TooManyRequests, "Too many requests", $"You sent more predictions than the limit allows; try again in {seconds} s.")
                    : (StatusCodes.Status503ServiceUnavailable, "Busy", "The server is predicting as many photos as it can; try again in a moment.");
                await Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(rejected.HttpContext);
            };
        });
        return services;
    }

    /// <summary>A JSON request body is settings or a name: a megabyte is plenty. Photos come as multipart, with their own limits.</summary>
    public const long MaxJsonBodyBytes = 1_000_000;

    /// <summary>Caps JSON bodies of the API at <see cref="MaxJsonBodyBytes"/>; a larger one is refused with 413 before it is read.</summary>
    public static IApplicationBuilder UseJsonBodyLimit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/api") && context.Request.HasJsonContentType()
            && context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            if (context.Request.ContentLength > MaxJsonBodyBytes)
            {
                await Results.Problem($"A JSON body may hold at most {MaxJsonBodyBytes / 1_000_000} MB.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large").ExecuteAsync(context);
                return;
            }
            limit.MaxRequestBodySize = MaxJsonBodyBytes;
        }
        await next();
    });

    private static bool IsPredict(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/api/predict");
}
