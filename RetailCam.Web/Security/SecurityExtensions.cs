using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using RetailCam.Storage.Accounts;

namespace RetailCam.Web.Security;

/// <summary>
/// Sign-in for the team: Identity's cookie for browsers and personal access tokens for scripts, one
/// policy per role (each role includes those below it), and a fallback policy so that every endpoint
/// that does not say otherwise needs a signed-in member.
/// </summary>
public static class SecurityExtensions
{
    /// <summary>The team's scheme: a personal access token when the request carries one, else Identity's cookie.</summary>
    public const string CookieOrToken = "cookie-or-token";

    public static IHostApplicationBuilder AddRetailCamSecurity(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHttpContextAccessor();
        new IdentityBuilder(typeof(TeamUser), typeof(IdentityRole), services)
            .AddSignInManager<TeamSignInManager>()
            .AddDefaultTokenProviders();

        services.AddAuthentication(options =>
            {
                options.DefaultScheme = CookieOrToken;
                options.DefaultChallengeScheme = CookieOrToken;
                options.DefaultForbidScheme = CookieOrToken;
            })
            .AddPolicyScheme(CookieOrToken, "Cookie or access token", options => options.ForwardDefaultSelector = context =>
                AccessTokenAuthenticationHandler.TokenOf(context.Request) is not null ? AccessTokenAuthenticationHandler.SchemeName : IdentityConstants.ApplicationScheme)
            .AddScheme<AuthenticationSchemeOptions, AccessTokenAuthenticationHandler>(AccessTokenAuthenticationHandler.SchemeName, null)
            .AddIdentityCookies();

        services.ConfigureApplicationCookie(cookie =>
        {
            cookie.Cookie.Name = "retailcam.auth";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
            cookie.SlidingExpiration = true;
            cookie.LoginPath = "/account/login";
            cookie.LogoutPath = "/account/logout";
            cookie.AccessDeniedPath = "/account/denied";
            // Scripts and the hub get status codes; only pages are sent to the login page.
            cookie.Events.OnRedirectToLogin = context => SignInProblems.IsApi(context.Request)
                ? SignInProblems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized)
                : Redirect(context);
            cookie.Events.OnRedirectToAccessDenied = context => SignInProblems.IsApi(context.Request)
                ? SignInProblems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden)
                : Redirect(context);
        });
        // A role change or a disabled account reaches signed-in browsers within a minute.
        services.Configure<SecurityStampValidatorOptions>(options => options.ValidationInterval = TimeSpan.FromMinutes(1));

        var viewer = Policy(TeamRoles.Viewer);
        services.AddAuthorizationBuilder()
            .AddPolicy(TeamRoles.Viewer, viewer)
            .AddPolicy(TeamRoles.Trainer, Policy(TeamRoles.Trainer))
            .AddPolicy(TeamRoles.Admin, Policy(TeamRoles.Admin))
            .SetFallbackPolicy(viewer);
        services.AddCascadingAuthenticationState();
        services.AddRequestLimits();
        return builder;
    }

    private static Microsoft.AspNetCore.Authorization.AuthorizationPolicy Policy(string role) =>
        new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireRole(TeamRoles.AtLeast(role)).Build();

    private static Task Redirect(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context)
    {
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}
