#include "associate/hungarian.h"

#include <algorithm>
#include <limits>

namespace vas {
namespace {

// Square-or-wide case (n <= m). Potentials u (rows) and v (columns) keep reduced costs
// non-negative; each row is added by a Dijkstra-like search for the cheapest augmenting path.
std::vector<int> solve_wide(const std::vector<double>& a, int n, int m) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0), minv(m + 1);
  std::vector<int> p(m + 1, 0), way(m + 1, 0);  // p[j]: row (1-based) matched to column j
  std::vector<char> used(m + 1);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const int i0 = p[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = a[static_cast<size_t>(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> row_to_col(n, -1);
  for (int j = 1; j <= m; ++j) {
    if (p[j] != 0) row_to_col[p[j] - 1] = j - 1;
  }
  return row_to_col;
}

}  // namespace

std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols,
                                  double forbidden) {
  std::vector<int> result(rows > 0 ? rows : 0, -1);
  if (rows <= 0 || cols <= 0) return result;
  if (rows <= cols) {
    result = solve_wide(cost, rows, cols);
  } else {
    std::vector<double> t(static_cast<size_t>(rows) * cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        t[static_cast<size_t>(c) * rows + r] = cost[static_cast<size_t>(r) * cols + c];
    const std::vector<int> col_to_row = solve_wide(t, cols, rows);
    for (int c = 0; c < cols; ++c)
      if (col_to_row[c] >= 0) result[col_to_row[c]] = c;
  }
  for (int r = 0; r < rows; ++r) {
    if (result[r] >= 0 && cost[static_cast<size_t>(r) * cols + result[r]] >= forbidden)
      result[r] = -1;
  }
  return result;
}

}  // namespace vas
