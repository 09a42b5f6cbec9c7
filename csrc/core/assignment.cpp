#include "core/assignment.h"

#include <algorithm>
#include <limits>

namespace vas {

double hungarian(const double* cost, int rows, int cols, int* row_to_col, HungarianWorkspace* ws) {
  // Shortest augmenting paths with row/column potentials (1-based; column 0 is the virtual
  // start). Each row is added in turn; Dijkstra-like relaxation over columns finds the
  // cheapest augmenting path in reduced costs, which stay non-negative.
  const double kInf = std::numeric_limits<double>::infinity();
  ws->u.assign(rows + 1, 0.0);
  ws->v.assign(cols + 1, 0.0);
  ws->p.assign(cols + 1, 0);
  ws->way.assign(cols + 1, 0);
  ws->minv.resize(cols + 1);
  ws->used.resize(cols + 1);
  double* u = ws->u.data();
  double* v = ws->v.data();
  int* p = ws->p.data();
  int* way = ws->way.data();
  double* minv = ws->minv.data();
  char* used = ws->used.data();
  for (int i = 1; i <= rows; ++i) {
    p[0] = i;
    int j0 = 0;
    std::fill(minv, minv + cols + 1, kInf);
    std::fill(used, used + cols + 1, 0);
    do {
      used[j0] = 1;
      const int i0 = p[j0];
      const double* crow = cost + static_cast<size_t>(i0 - 1) * cols;
      double delta = kInf;
      int j1 = 0;
      for (int j = 1; j <= cols; ++j) {
        if (used[j]) continue;
        const double cur = crow[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= cols; ++j) {
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
  double total = 0.0;
  for (int j = 1; j <= cols; ++j) {
    if (p[j] != 0) {
      row_to_col[p[j] - 1] = j - 1;
      total += cost[static_cast<size_t>(p[j] - 1) * cols + (j - 1)];
    }
  }
  return total;
}

int AssignmentSolver::find(int a) {
  while (parent_[a] != a) {
    parent_[a] = parent_[parent_[a]];
    a = parent_[a];
  }
  return a;
}

void AssignmentSolver::solve(const float* cost, int rows, int cols, float limit,
                             std::vector<int>* row_match, std::vector<int>* col_match) {
  row_match->assign(rows, -1);
  col_match->assign(cols, -1);
  if (rows == 0 || cols == 0) return;

  // Union-find over rows [0, rows) and columns [rows, rows + cols) joined by allowed pairs.
  const int nodes = rows + cols;
  parent_.resize(nodes);
  for (int i = 0; i < nodes; ++i) parent_[i] = i;
  bool any = false;
  for (int r = 0; r < rows; ++r) {
    const float* crow = cost + static_cast<size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      if (crow[c] < limit) {
        any = true;
        const int a = find(r), b = find(rows + c);
        if (a != b) parent_[a] = b;
      }
    }
  }
  if (!any) return;

  // Bucket nodes by component root (counting sort, no allocation in steady state).
  comp_of_.assign(nodes, 0);
  comp_start_.assign(nodes + 1, 0);
  for (int i = 0; i < nodes; ++i) ++comp_start_[find(i) + 1];
  for (int i = 0; i < nodes; ++i) comp_start_[i + 1] += comp_start_[i];
  comp_fill_.assign(comp_start_.begin(), comp_start_.end() - 1);
  comp_items_.resize(nodes);
  for (int i = 0; i < nodes; ++i) comp_items_[comp_fill_[find(i)]++] = i;

  for (int root = 0; root < nodes; ++root) {
    const int begin = comp_start_[root], end = comp_start_[root + 1];
    if (end - begin < 2) continue;  // a lone row or column
    sub_rows_.clear();
    sub_cols_.clear();
    for (int k = begin; k < end; ++k) {
      const int node = comp_items_[k];
      if (node < rows) {
        sub_rows_.push_back(node);
      } else {
        sub_cols_.push_back(node - rows);
      }
    }
    const int nr = static_cast<int>(sub_rows_.size()), nc = static_cast<int>(sub_cols_.size());
    if (nr == 1 && nc == 1) {  // the common case: one track, one detection
      (*row_match)[sub_rows_[0]] = sub_cols_[0];
      (*col_match)[sub_cols_[0]] = sub_rows_[0];
      continue;
    }
    // Minimise -(limit - cost) over allowed pairs; disallowed pairs cost 0, the same as
    // leaving both sides unmatched, and are dropped afterwards. Transpose so rows <= cols.
    const bool transpose = nr > nc;
    const int hr = transpose ? nc : nr, hc = transpose ? nr : nc;
    sub_cost_.resize(static_cast<size_t>(hr) * hc);
    for (int i = 0; i < nr; ++i) {
      const float* crow = cost + static_cast<size_t>(sub_rows_[i]) * cols;
      for (int j = 0; j < nc; ++j) {
        const float c = crow[sub_cols_[j]];
        const double w = c < limit ? static_cast<double>(c) - limit : 0.0;
        sub_cost_[transpose ? static_cast<size_t>(j) * hc + i : static_cast<size_t>(i) * hc + j] =
            w;
      }
    }
    sub_assign_.resize(hr);
    hungarian(sub_cost_.data(), hr, hc, sub_assign_.data(), &ws_);
    for (int a = 0; a < hr; ++a) {
      const int i = transpose ? sub_assign_[a] : a;
      const int j = transpose ? a : sub_assign_[a];
      const int r = sub_rows_[i], c = sub_cols_[j];
      if (cost[static_cast<size_t>(r) * cols + c] < limit) {
        (*row_match)[r] = c;
        (*col_match)[c] = r;
      }
    }
  }
}

std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols,
                                  double forbidden) {
  std::vector<int> row_to_col(rows, -1);
  if (rows == 0 || cols == 0) return row_to_col;
  HungarianWorkspace ws;
  if (rows <= cols) {
    hungarian(cost.data(), rows, cols, row_to_col.data(), &ws);
  } else {
    std::vector<double> t(cost.size());
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c)
        t[static_cast<size_t>(c) * rows + r] = cost[static_cast<size_t>(r) * cols + c];
    }
    std::vector<int> col_to_row(cols, -1);
    hungarian(t.data(), cols, rows, col_to_row.data(), &ws);
    for (int c = 0; c < cols; ++c) {
      if (col_to_row[c] >= 0) row_to_col[col_to_row[c]] = c;
    }
  }
  for (int r = 0; r < rows; ++r) {
    const int c = row_to_col[r];
    if (c >= 0 && cost[static_cast<size_t>(r) * cols + c] >= forbidden) row_to_col[r] = -1;
  }
  return row_to_col;
}

}  // namespace vas
