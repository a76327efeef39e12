using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using RetailCam.Storage.Accounts;

namespace RetailCam.Web.Security;

/// <summary>Identity's sign-in, refusing disabled members (their history stays; they cannot come in).</summary>
public sealed class TeamSignInManager(UserManager<TeamUser> users, IHttpContextAccessor context, IUserClaimsPrincipalFactory<TeamUser> claims,
    IOptions<IdentityOptions> options, ILogger<SignInManager<TeamUser>> logger, IAuthenticationSchemeProvider schemes, IUserConfirmation<TeamUser> confirmation)
    : SignInManager<TeamUser>(users, context, claims, options, logger, schemes, confirmation)
{
    public override async Task<bool> CanSignInAsync(TeamUser user) => !user.Disabled && await base.CanSignInAsync(user);
}
