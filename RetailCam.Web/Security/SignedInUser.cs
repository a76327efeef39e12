using Microsoft.AspNetCore.Components.Authorization;

namespace RetailCam.Web.Security;

/// <summary>Who is asking, as recorded with uploads, predictions, filings and review answers.</summary>
public static class SignedInUser
{
    public static async Task<string?> NameAsync(this Task<AuthenticationState>? state) =>
        state is null ? null : (await state).User.Identity?.Name;

    public static string? Name(this HttpContext context) => context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name : null;
}
