"""The views of the whole-request benchmark: one DRF ``APIView`` per authentication."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from django_nextauth_jwt.authentication import NextAuthJWTAuthentication


class Answer(APIView):
    """The same small JSON answer whatever authenticated the request."""

    def get(self, request: Request) -> Response:
        return Response({"id": getattr(request.user, "pk", None)})


class Floor(Answer):
    """No authentication: the cost of the request itself."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class SimpleJWT(Answer):
    """djangorestframework-simplejwt's stateless HS256 authentication."""

    authentication_classes = (JWTStatelessUserAuthentication,)
    permission_classes = (IsAuthenticated,)


class NextAuth(Answer):
    """This app: a NextAuth token, Bearer or cookie, any of the three formats."""

    authentication_classes = (NextAuthJWTAuthentication,)
    permission_classes = (IsAuthenticated,)


urlpatterns = [
    path("floor/", Floor.as_view()),
    path("simplejwt/", SimpleJWT.as_view()),
    path("nextauth/", NextAuth.as_view()),
]
