using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Npgsql;
using RetailCam.Web.Services;
using StackExchange.Redis;

namespace RetailCam.Web.ScaleOut;

/// <summary>Which side of a cluster a process is.</summary>
public enum ClusterRole
{
    /// <summary>Serves people and scripts; with the Hangfire engine it enqueues runs and chunks and mirrors them.</summary>
    WebNode,

    /// <summary>Executes the runs and chunks of its queues.</summary>
    Worker,
}

public static class ScaleOutHostExtensions
{
    private const string RedisConnectionName = "Redis";
    private const string DatabaseConnectionName = "RetailCam";
    private const string DataProtectionKeys = "retailcam:dataprotection-keys";

    // Any constant shared by every process of the cluster: the lock under which one of them creates Hangfire's schema.
    private const long HangfireSchemaLock = 0x52_43_48_46; // "RCHF"

    /// <summary>
    /// What lets several processes be one RetailCam: with <c>ConnectionStrings:Redis</c> the SignalR
    /// backplane and Data Protection keys shared in Redis; with <c>RetailCam:Jobs:Engine = hangfire</c> runs
    /// and bulk chunks as Hangfire jobs in PostgreSQL. Without either, nothing changes: one process.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamScaleOut(this IHostApplicationBuilder builder, ClusterRole role)
    {
        var configuration = builder.Configuration;
        var node = NodeIdentity.From(configuration);
        builder.Services.AddSingleton(node);
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => o.Problems().Count == 0, "RetailCam:Jobs:Queues names an unknown queue; the queues are 'training' and 'bulk'.").ValidateOnStart();
        var jobs = configuration.GetSection(JobsOptions.SectionName).Get<JobsOptions>() ?? new JobsOptions();
        var redis = configuration.GetConnectionString(RedisConnectionName);
        var database = configuration.GetConnectionString(DatabaseConnectionName);

        if (jobs.Engine == JobEngine.Hangfire)
        {
            var problems = new List<string>();
            if (!string.Equals(configuration["RetailCam:Storage:Provider"], "postgres", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(database))
                problems.Add("RetailCam:Storage:Provider = postgres with ConnectionStrings:RetailCam (the jobs live in that database)");
            if (string.IsNullOrWhiteSpace(redis))
                problems.Add("ConnectionStrings:Redis (workers' events and commands, the SignalR backplane)");
            if (problems.Count > 0)
                throw new InvalidOperationException("RetailCam:Jobs:Engine = hangfire needs " + string.Join(" and ", problems) + ".");
        }
        else if (role == ClusterRole.Worker)
        {
            throw new InvalidOperationException("A worker executes Hangfire jobs: set RetailCam:Jobs:Engine = hangfire (with the cluster's database and Redis).");
        }

        if (!string.IsNullOrWhiteSpace(redis))
        {
            var redisOptions = ConfigurationOptions.Parse(redis);
            // A node starts, and keeps retrying, while Redis is briefly away, rather than failing for good.
            redisOptions.AbortOnConnectFail = false;
            redisOptions.ClientName = node.Name;
            var connection = new Lazy<IConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(redisOptions));
            builder.Services.AddSingleton(_ => connection.Value);
            builder.Services.AddSignalR().AddStackExchangeRedis(redis, signalR =>
            {
                signalR.Configuration.AbortOnConnectFail = false;
                signalR.Configuration.ChannelPrefix = RedisChannel.Literal("retailcam:signalr");
            });
            // A cookie or antiforgery token issued by one node is read by every other.
            builder.Services.AddDataProtection().SetApplicationName("RetailCam")
                .PersistKeysToStackExchangeRedis(() => connection.Value.GetDatabase(), DataProtectionKeys);
        }

        if (jobs.Engine != JobEngine.Hangfire) return builder;

        builder.Services.AddSingleton<RunChannels>();
        builder.Services.AddSingleton<CatalogueChunkStore>();
        builder.Services.AddSingleton<JobStorage>(_ => CreateJobStorage(database!, jobs));
        builder.Services.AddHangfire((services, hangfire) => hangfire
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(services.GetRequiredService<JobStorage>()));

        if (role == ClusterRole.WebNode)
        {
            builder.Services.AddSingleton<IRunDispatcher, HangfireRunDispatcher>();
            builder.Services.AddSingleton<ICatalogueDispatcher, HangfireCatalogueDispatcher>();
            builder.Services.AddHostedService<WebRunMirror>();
            return builder;
        }

        builder.Services.AddTransient<TrainingRunJob>();
        builder.Services.AddTransient<CatalogueChunkJob>();
        // Registered before the job servers, so it stops after them and the last events of stopped runs still go out.
        builder.Services.AddHostedService<WorkerRunRelay>();
        foreach (var queue in jobs.Queues.Distinct())
        {
            builder.Services.AddHangfireServer((services, server) =>
            {
                var runs = services.GetRequiredService<IOptions<RunQueueOptions>>().Value;
                server.ServerName = $"{node.Name}:{queue}";
                server.Queues = [queue];
                // Training takes the device: as many at once as the run queue allows. A bulk chunk uses every core.
                server.WorkerCount = queue == JobsOptions.TrainingQueue ? runs.MaxConcurrent : jobs.BulkWorkers;
                // A run checkpoints on stop; its batch may take seconds on a CPU.
                server.ShutdownTimeout = TimeSpan.FromSeconds(runs.ShutdownSeconds);
                server.StopTimeout = TimeSpan.FromSeconds(runs.ShutdownSeconds);
            });
        }
        return builder;
    }

    /// <summary>
    /// Hangfire's storage on the cluster's database, its tables in the schema "hangfire". Every process may
    /// start at once; one creates the schema at a time, under a PostgreSQL advisory lock.
    /// </summary>
    private static JobStorage CreateJobStorage(string connectionString, JobsOptions jobs)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            // A job stays with a live worker however long it runs (the worker renews it), and goes to another
            // this soon after its worker died.
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = TimeSpan.FromSeconds(jobs.InvisibilitySeconds),
            QueuePollInterval = TimeSpan.FromSeconds(1),
        };
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({HangfireSchemaLock})", connection)) take.ExecuteNonQuery();
        try
        {
            return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
        }
        finally
        {
            using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({HangfireSchemaLock})", connection);
            release.ExecuteNonQuery();
        }
    }
}
